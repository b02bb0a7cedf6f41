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
