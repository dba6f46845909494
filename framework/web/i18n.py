"""French (default) and English labels of the HTML pages.

``pick(query_lang, accept_language)``: ``?lang=`` wins, then the first language of
``Accept-Language`` that we have, else French (the territory's language).
"""

from __future__ import annotations

from collections.abc import Callable

LANGS = ("fr", "en")

_LABELS: dict[str, tuple[str, str]] = {
    # key: (French, English)
    "status_title": ("État du territoire", "Territory status"),
    "skip": ("Aller au contenu", "Skip to content"),
    "nav": ("Sections", "Sections"),
    "territory": ("Territoire", "Territory"),
    "topology": ("Topologie (hébergement)", "Topology (hosting)"),
    "instances": ("Instances", "Instances"),
    "instance": ("Instance", "Instance"),
    "kind": ("Type", "Kind"),
    "identity": ("Identité", "Identity"),
    "logo": ("Logo", "Logo"),
    "colour": ("Couleur", "Colour"),
    "profiles": ("Profils", "Profiles"),
    "profile": ("Profil", "Profile"),
    "own_deployment": ("déploiement propre", "own deployment"),
    "hosted_by": ("hébergée par", "hosted by"),
    "availability": ("Disponibilité des raccordements", "Availability of the bindings"),
    "binding": ("Raccordement", "Binding"),
    "state": ("État", "State"),
    "since": ("Depuis (UTC)", "Since (UTC)"),
    "why": ("Pourquoi", "Why"),
    "last_success": ("Dernier appel réussi (UTC)", "Last successful call (UTC)"),
    "circuit": ("Disjoncteur", "Circuit"),
    "queue": ("File d'attente", "Queue"),
    "dead_letters": ("Lettres mortes", "Dead letters"),
    "up": ("disponible", "up"),
    "down": ("indisponible", "down"),
    "unknown": ("inconnu", "unknown"),
    "closed": ("fermé", "closed"),
    "open": ("ouvert", "open"),
    "failures": ("échecs consécutifs", "consecutive failures"),
    "never": ("jamais", "never"),
    "queued": ("en attente", "queued"),
    "running": ("en cours", "running"),
    "dead": ("mortes", "dead"),
    "job": ("Tâche", "Job"),
    "error": ("Erreur", "Error"),
    "attempts": ("Essais", "Attempts"),
    "retry": ("Relancer", "Retry"),
    "retried": ("Tâche {id} remise en file.", "Job {id} queued again."),
    "not_retried": ("Tâche {id} non relancée : elle n'est pas morte.", "Job {id} not retried: it is not dead."),
    "no_dead": ("Aucune lettre morte.", "No dead letter."),
    "overrides": ("Registre des spécificités", "Overrides ledger"),
    "override": ("Spécificité", "Override"),
    "reason": ("Motif", "Reason"),
    "owner": ("Responsable", "Owner"),
    "review_by": ("À revoir le", "Review by"),
    "overdue": ("revue dépassée", "review overdue"),
    "size": ("Taille mesurée", "Measured size"),
    "cost": ("Coût", "Cost"),
    "members": ("Membres", "Members"),
    "club": ("club", "club"),
    "no_override": ("Aucune : chaque instance suit le projet commun.",
                    "None: every instance follows the common project."),
    "costs": ("Coûts : qui paie quoi", "Costs: who pays what"),
    "shared": ("mutualisé", "shared"),
    "specific": ("spécifique", "specific"),
    "platform": ("plateforme", "platform"),
    "total": ("Total", "Total"),
    "first_year": ("1re année", "1st year"),
    "recurring": ("années suivantes", "recurring"),
    "per_year": ("par an ensuite", "per year after"),
    "chart_pays": ("Qui paie quoi (1re année) : mutualisé et spécifique",
                   "Who pays what (1st year): shared and specific"),
    "chart_topologies": ("Les trois modèles de déploiement (1re année)", "The three deployment models (1st year)"),
    "chart_overrides": ("Ce que coûte chaque spécificité (1re année)", "What each override costs (1st year)"),
    "model": ("Modèle", "Model"),
    "platforms": ("Plateformes", "Platforms"),
    "others": ("projet commun et spécificités", "common project and overrides"),
    "single": ("une seule instance", "single instance"),
    "per-commune": ("une instance par commune", "one instance per commune"),
    "hybrid": ("hybride (configuré)", "hybrid (as configured)"),
    "split": ("Répartition", "Split"),
    "floor": ("plancher", "floor"),
    "day_rate": ("taux journalier", "day rate"),
    "profiles_table": ("Profils (mutualisés : partagés entre les instances qui les utilisent)",
                       "Profiles (shared among the instances binding them)"),
    "connector": ("Connecteur", "Connector"),
    "days": ("Jours (mise en place + annuel)", "Days (setup + yearly)"),
    "advisor": ("Conseiller d'harmonisation", "Harmonisation advisor"),
    "candidates": ("Spécificités équivalentes chez plusieurs instances", "Equivalent overrides in several instances"),
    "what": ("Ce qu'elles font", "What they do"),
    "promote": ("Intégrer au projet commun : économie", "Promote to the common project: saving"),
    "as_club": ("En club (une seule spécificité partagée)", "As a club (one shared override)"),
    "saving": ("Économie", "Saving"),
    "part": ("Part", "Part"),
    "no_candidate": ("Aucune spécificité équivalente chez plusieurs instances.",
                     "No equivalent override in several instances."),
    "overdue_list": ("Spécificités à revoir (date dépassée)", "Overrides past their review date"),
    "dispatch": ("Dispatch des demandes mutualisées", "Dispatch of mutualised requests"),
    "category": ("Catégorie", "Category"),
    "commune": ("Commune", "Commune"),
    "automatic": ("Routées automatiquement", "Routed automatically"),
    "triage": ("Tri manuel", "Manual triage"),
    "lang_switch": ("English", "Français"),
    "generated": ("Généré le {at} (UTC)", "Generated on {at} (UTC)"),
    "sheet_title": ("Annexe financière : {name}", "Cost sheet: {name}"),
    "sheet_intro": ("Ce que {name} paie pour les raccordements de {territory}, et pourquoi. "
                    "Document à annexer à la convention.",
                    "What {name} pays for the connections of {territory}, and why. "
                    "To be annexed to the agreement."),
    "pays": ("Ce que l'instance paie", "What the instance pays"),
    "why_pays": ("Pourquoi", "Why"),
    "why_shared": ("Part mutualisée : les profils partagés, répartis {split} avec un plancher de {floor} par an "
                   "(« ce qui est gratuit n'a pas de valeur »).",
                   "Shared part: the shared profiles, split {split} with a floor of {floor} a year."),
    "why_platform": ("Plateforme : l'instance exploite son propre déploiement.",
                     "Platform: the instance runs its own deployment."),
    "why_hosted": ("Pas de plateforme : l'instance est hébergée par {host}.",
                   "No platform: the instance is hosted by {host}."),
    "benefits": ("Profils mutualisés dont elle bénéficie", "Shared profiles it benefits from"),
    "alone": ("Coût si elle était seule", "Cost if it were alone"),
    "its_part": ("Sa part", "Its part"),
    "its_specifics": ("Ses spécificités", "Its specifics"),
    "signature": ("Signature", "Signature"),
    "equal": ("à parts égales", "equally"),
    "population": ("selon la population", "by population"),
    "weights": ("selon les poids déclarés", "by declared weights"),
    "refused": ("Accès refusé", "Access refused"),
}


def translator(lang: str) -> Callable[..., str]:
    index = 1 if lang == "en" else 0

    def t(key: str, **values: object) -> str:
        text = _LABELS[key][index] if key in _LABELS else key
        return text.format(**values) if values else text

    return t


def pick(query_lang: str | None, accept_language: str | None) -> str:
    if query_lang in LANGS:
        return str(query_lang)
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGS:
            return code
    return "fr"
