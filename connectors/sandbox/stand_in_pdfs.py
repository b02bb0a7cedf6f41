"""Regenerate the two stand-in PDFs (no official sample exists for them). Run once, commit the files:

    .venv/bin/python -m connectors.sandbox.stand_in_pdfs

The sandbox itself never imports this module (nor WeasyPrint): it serves the committed files.
"""

from __future__ import annotations

from .catalogue import STAGING_DIR
from .documents import STAND_INS

TITLES = {
    "api_entreprise_v4_dgfip_attestations_fiscales": "Attestation de régularité fiscale",
    "api_entreprise_v3_inpi_rne_extrait_rne": "Extrait du Registre national des entreprises (RNE)",
}
PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: 2.5cm }}
body {{ font-family: "DejaVu Sans", sans-serif; font-size: 11pt }}
.stamp {{ border: 3px solid #c00; color: #c00; padding: .5cm; text-align: center; font-size: 16pt; margin: 2cm 0 }}
</style></head><body>
<h1>{title}</h1>
<p class="stamp">Document fictif — bac à sable</p>
<p>Ce document remplace, dans le bac à sable de développement, le document que renverrait le fournisseur.
Il n'atteste de rien et ne concerne aucune entreprise réelle.</p>
</body></html>"""


def main() -> None:
    from weasyprint import HTML

    for relative in STAND_INS.values():
        directory = relative.split("/")[0]
        target = STAGING_DIR / relative
        HTML(string=PAGE.format(title=TITLES[directory])).write_pdf(target)
        print(f"wrote {target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
