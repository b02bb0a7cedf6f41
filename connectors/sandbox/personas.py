"""The sandbox personas' identifiers, for tests, benchmarks and the demo (details in personas.yaml)."""

DEMO_SIRET = "55204944776279"  # SOCIETE NATIONALE SNCF: everything in order, two harmless BODACC notices
DEMO_SIREN = "552049447"
URSSAF_REFUSED_SIRET = "47846480300319"  # URSSAF refus_de_delivrance (entrepreneur individuel diffusible)
URSSAF_REFUSED_SIREN = "478464803"
CLOSED_SIRET = "35005144700018"  # INSEE établissement F / unité légale C, LJ closed for insufficient assets
CLOSED_SIREN = "350051447"
LIQUIDATION_SIRET = "91234567500017"  # fictional SAS: redressement judiciaire converted into liquidation
LIQUIDATION_SIREN = "912345675"
NON_DIFFUSIBLE_SIRET = "35004292500031"  # entrepreneur individuel, partiellement diffusible
NON_DIFFUSIBLE_SIREN = "350042925"
BTP_SIRET = "81234567600017"  # fictional SAS in construction: PRO BTP, CIBTP, CNETP, FNTP, Qualibat all deliver
BTP_SIREN = "812345676"
BTP_NON_A_JOUR_SIRET = "82345678500018"  # fictional SAS: CIBTP 404 38422 (not up to date), PRO BTP not eligible
BTP_NON_A_JOUR_SIREN = "823456785"
INGENIERIE_SIRET = "91357924900016"  # fictional SAS in engineering and training: OPQIBI and Qualiopi deliver
INGENIERIE_SIREN = "913579249"
UNKNOWN_SIRET = "98765432400019"  # valid keys, no case knows it: 404 everywhere
UNKNOWN_SIREN = "987654324"

SANDBOX_TOKEN = "sandbox-token"  # noqa: S105 (default bearer token of the sandbox, env SANDBOX_TOKEN)
RECIPIENT_SIRET = "13002526500013"  # a valid buyer SIRET (DINUM) for the `recipient` parameter
