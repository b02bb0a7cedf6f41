"""Demo data shared by `load_demo`, `assemble_dossier` defaults and the benchmarks."""

DEMO_BUYER_SIRET = "13002526500013"
DEMO_BUYER_NAME = "Direction interministérielle du numérique (démo)"
DEMO_CONSULTATION_REFERENCE = "DEMO-2026-001"
DEMO_CONSULTATION_TITLE = "Rénovation énergétique de l'école Jules-Ferry"
DEMO_ADMIN_USERNAME = "admin"
DEMO_ADMIN_EMAIL = "admin@demo.passemarche.local"
DEMO_ADMIN_PASSWORD = "demo-admin-passemarche"  # noqa: S105 — a local demo account, printed on purpose
DEMO_BUYER_EMAIL = "acheteur@demo.passemarche.local"
DEMO_BUYER_PASSWORD = "demo-acheteur-passemarche"  # noqa: S105 — a local demo account, printed on purpose
DEMO_COMPANY_EMAIL = "entreprise@demo.passemarche.local"
DEMO_COMPANY_PASSWORD = "demo-entreprise-passemarche"  # noqa: S105 — a local demo account, printed on purpose
DEMO_OPERATOR_EMAIL = "operateur@demo.passemarche.local"
DEMO_OPERATOR_PASSWORD = "demo-operateur-passemarche"  # noqa: S105 — a local demo account, printed on purpose
DEMO_OPERATOR_GROUP = "Opérateurs (lecture seule)"  # created by migration candidatures 0005
# The demo buyer platform (`python -m platforms.demo_platform`, started by `make run`): its API client and webhook.
DEMO_PLATFORM_NAME = "Plateforme de démonstration"
DEMO_PLATFORM_CLIENT_ID = "demo-plateforme"
DEMO_PLATFORM_CLIENT_SECRET = "demo-plateforme-secret-a-ne-pas-utiliser-en-production"  # noqa: S105 — printed on purpose
DEMO_PLATFORM_WEBHOOK_URL = "http://127.0.0.1:8020/webhooks/"
DEMO_PLATFORM_WEBHOOK_SECRET = "demo-webhook-secret-a-ne-pas-utiliser-en-production"  # noqa: S105 — printed on purpose
DEMO_PLATFORM_CONSULTATION_REFERENCE = "DEMO-PLATEFORME-001"
