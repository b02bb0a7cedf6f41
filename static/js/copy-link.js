// The buyer's "Copier le lien" button (acheteur/review.html), a static file under the Content Security Policy
// (no inline script, no inline event handler). The button stays hidden without the Clipboard API; the message
// read to screen readers comes from the status element's data-copied-message (translated in the template).
(function () {
  "use strict";

  document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () {
      input.select();
    });
  });

  if (!navigator.clipboard) {
    return;
  }
  var status = document.getElementById("copy-status");
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var input = document.getElementById(button.dataset.copyTarget);
      navigator.clipboard.writeText(input.value).then(function () {
        if (status) {
          status.textContent = status.dataset.copiedMessage;
        }
      });
    });
  });
})();
