"""The demo world: a seeded simulation of a Mastodon-like REST API.

:class:`DemoClient` answers "API calls" with the JSON bodies Mastodon's API v1
would return (``accounts/lookup``, ``accounts/statuses``, ``notifications``),
for the eight demo organizations of :mod:`rapport.simulators.demo_archetypes`.
The demo source (:mod:`rapport.sources.demo`) extracts from it as a connector
extracts from a real platform.

Everything is generated day by day: what happens on a calendar day to an
account (its posts, the public's replies and mentions, its answers) comes from
``random.Random(f"{seed}:{handle}:{day}")`` only. An item generated on a day
may be published later (an answer comes minutes to days after its question),
but it is the same item, with the same id, text and timestamps, whatever
window it is fetched in, and fetching a window twice gives identical bytes.
Ids are ``<generation day><account number><sequence>`` (15 digits), unique
across accounts and days; people's account ids are derived from their handle.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from typing import Any, Final, TypeVar
from urllib.parse import urlencode

from rapport.simulators.demo_archetypes import (
    ARCHETYPES,
    DEMO_START,
    GENERATION_LOOKBACK,
    MAX_PUBLIC_REPLY_DELAY_MINUTES,
    Archetype,
)
from rapport.sources.demo.settings import LOOKUP_ENDPOINT, NOTIFICATIONS_ENDPOINT, STATUSES_ENDPOINT

JsonObject = dict[str, Any]
T = TypeVar("T")

PAGE_SIZE: Final = 40
"""Items per page of the simulated listings (``accounts/statuses``, ``notifications``)."""
BASE_URL: Final = "https://demo.rapport.invalid"
API_PREFIX: Final = "/api/v1/"


# --------------------------------------------------------------------------- people


def stable_id(acct: str) -> str:
    """Return the numeric account id of a handle: stable across runs and processes."""
    # sha256, not hash(): Python salts str hashes per process.
    return str(int(hashlib.sha256(acct.encode("utf-8")).hexdigest()[:13], 16))


@dataclass(frozen=True)
class Member:
    """An account on (or federated with) the demo platform."""

    acct: str
    display_name: str

    @property
    def id(self) -> str:
        return stable_id(self.acct)

    @property
    def username(self) -> str:
        return self.acct.split("@", 1)[0]

    @property
    def url(self) -> str:
        if "@" in self.acct:
            username, instance = self.acct.split("@", 1)
            return f"https://{instance}/@{username}"
        return f"{BASE_URL}/@{self.acct}"

    def reference(self) -> JsonObject:
        """The short account object nested in statuses."""
        return {"id": self.id, "acct": self.acct}


PUBLIC: Final = tuple(
    Member(acct, acct.split("@")[0].replace("_", " ").title())
    for acct in (
        "lea_m",
        "julien_b",
        "camille@piaille.fr",
        "sam@mastodon.social",
        "nour_k",
        "marie_c",
        "thomas_r",
        "ines_l",
        "olivier@framapiaf.org",
        "amina_s",
        "lucas_p",
        "chloe_v",
        "yann@mamot.fr",
        "priya_n",
        "tom_h",
        "sofia_g",
        "ben@fosstodon.org",
        "jade_f",
        "karim_a",
        "emma_w",
        "noah@mastodon.online",
        "zoe_t",
        "malik_o",
        "lina_r",
        "oscar@toot.community",
        "rose_e",
        "nathan_j",
        "alice@piaille.fr",
        "victor_m",
        "hannah_b",
        "leo_c",
        "maya@mastodon.social",
    )
)
"""The members of the public who write to the organizations."""


# --------------------------------------------------------------------------- texts


@dataclass(frozen=True)
class Texts:
    """What an organization of one topic writes, by category and language.

    Templates may hold ``{link}`` (a link to the organization's site),
    ``{partner}`` (a mention of a partner) and ``{asker}`` (a mention of the
    person answered). Categories: news, plans, promo, partner, quote,
    reply_other, thread, answer. Plans templates carry the openness keywords
    the scoring looks for; no other template does, and only promo templates
    carry promotional keywords.
    """

    site: str
    partners: tuple[Member, ...]
    templates: Mapping[str, Mapping[str, tuple[str, ...]]]
    alt_texts: Mapping[str, tuple[str, ...]]
    questions: Mapping[str, tuple[str, ...]]


_LINK_PATHS: Final = ("infos", "actualites/2026", "agenda?vue=semaine", "docs/guide", "blog/rapport-annuel")

TEXTS: Final[dict[str, Texts]] = {
    "transit": Texts(
        site="riviere-transit.example",
        partners=(
            Member("velo_cite", "Vélo Cité"),
            Member("mairie_riviere", "Mairie de Rivière"),
            Member("gare_routiere", "Gare routière de Rivière"),
        ),
        templates={
            "news": {
                "fr": (
                    "Travaux sur la ligne 3 ce week-end : bus de remplacement entre Gare Centrale "
                    "et Pont-Neuf. Détails : {link}",
                    "Info trafic : la ligne B circule à nouveau normalement après l'incident de ce matin. "
                    "Merci de votre patience.",
                    "Horaires d'hiver : ils entrent en vigueur lundi. Toutes les fiches horaires sont en "
                    "ligne {link}",
                    "Rappel : validez votre titre à chaque montée, même en correspondance 🚌",
                    "Ligne 7 : l'arrêt Mairie est déplacé rue des Tanneurs jusqu'à vendredi.",
                    "Objets trouvés : un doudou lapin attend son propriétaire à l'agence Gare Centrale 🐰",
                    "Trafic perturbé sur le tram A à cause d'un véhicule mal garé. Reprise estimée à 9h15.",
                    "Nouveau : l'appli affiche désormais l'affluence à bord en temps réel.\n{link}",
                ),
                "en": (
                    "Line 3 works this weekend: replacement buses between Central Station and Pont-Neuf.",
                    "Tram B is running normally again. Thanks for your patience.",
                ),
            },
            "plans": {
                "fr": (
                    "Nous préparons l'arrivée de 12 nouvelles rames de tram : voici la feuille de route "
                    "jusqu'en 2027 {link}",
                    "En coulisses : visite de l'atelier où nos équipes rénovent les rames du tram A 🔧",
                    "Nous allons tester des bus à hydrogène sur la ligne 9 le mois prochain.",
                    "Prochainement : concertation publique sur le nouveau plan de circulation du centre.",
                ),
                "en": ("Behind the scenes at our tram depot: the line A trains are being refurbished 🔧",),
            },
            "partner": {
                "fr": (
                    "Merci à {partner} pour la navette spéciale de la fête de la musique 🎶",
                    "Avec {partner}, nous ajoutons 40 arceaux vélo à la gare routière 🚲",
                ),
            },
            "thread": {
                "fr": (
                    "(suite) Les arrêts Halles et Pont-Neuf sont desservis rue du Port pendant les travaux.",
                    "Le trafic reprend progressivement, comptez 10 minutes de retard.",
                    "Précision : les abonnés n'ont aucune démarche à faire.",
                ),
                "en": ("Service is resuming, expect 10-minute delays.",),
            },
            "answer": {
                "fr": (
                    "{asker} Bonjour, oui, le bus 12 circule jusqu'à 0h30 ce soir. Bon trajet !",
                    "{asker} Bonjour, le tram B est interrompu à cause d'un incident technique, reprise "
                    "vers 18h.",
                    "{asker} Merci pour le signalement, nos équipes sont prévenues.",
                    "{asker} Bonjour, tout est détaillé sur cette page : {link}",
                ),
                "en": (
                    "{asker} Hello, yes, line 12 runs until 00:30 tonight. Safe travels!",
                    "{asker} Thanks for letting us know, our team is on it.",
                ),
            },
        },
        alt_texts={
            "fr": (
                "Plan des travaux de la ligne 3 avec l'itinéraire des bus de remplacement.",
                "Un tram rouge à l'arrêt Gare Centrale sous la pluie.",
            ),
            "en": ("A red tram at Central Station stop in the rain.",),
        },
        questions={
            "fr": (
                "Le bus 12 passe encore après 22h ?",
                "Pourquoi le tram B est à l'arrêt à Pont-Neuf ?",
                "La ligne 3 circule demain malgré les travaux ?",
            ),
            "en": ("Does line 12 still run after 10pm?",),
        },
    ),
    "bank": Texts(
        site="northwind-bank.example",
        partners=(),
        templates={
            "promo": {
                "en": (
                    "Open a Northwind savings account today and get a €50 welcome bonus. Shop now: {link}",
                    "Limited-time offer: zero fees on international transfers until Friday 💸",
                    "Our spring sale on mortgage arrangement fees ends Sunday. Don't miss this deal!",
                    "Buy travel insurance in two taps with the Northwind app ✈️ {link}",
                    "Students: get a 20% discount on your first year of premium banking.",
                    "Promo week: 2% cashback on every card payment. Details: {link}",
                ),
                "fr": ("Offre spéciale : ouvrez un livret Northwind et profitez de 50 € de bienvenue.",),
            },
            "news": {
                "en": (
                    "Our branches are closed on Monday for the public holiday. The app works as usual.",
                    "Security tip: Northwind never asks for your PIN by email or text message 🔒",
                    "Scheduled maintenance tonight from 1am to 3am: card payments are not affected.",
                    "Northwind is proud to sponsor the city marathon this Sunday 🏃",
                ),
                "fr": ("Nos agences sont fermées lundi. L'appli fonctionne normalement.",),
            },
        },
        alt_texts={
            "en": (
                "A smiling couple holding keys in front of a new house.",
                "Screenshot of the Northwind app home screen.",
            ),
        },
        questions={
            "en": (
                "My card was declined twice today, is there an outage?",
                "Why does the app log me out every five minutes?",
                "How long does a transfer to Spain take?",
            ),
            "fr": ("Ma carte est refusée depuis ce matin, il y a une panne ?",),
        },
    ),
    "community_centre": Texts(
        site="maison-quartiers.example",
        partners=(
            Member("ressourcerie_nord", "Ressourcerie du Nord"),
            Member("jardins_partages", "Jardins partagés"),
            Member("ecole_jaures", "École Jean-Jaurès"),
            Member("biblio_centre", "Bibliothèque du Centre"),
            Member("radio_quartier@piaille.fr", "Radio Quartier"),
        ),
        templates={
            "news": {
                "fr": (
                    "La permanence logement a lieu mardi de 14h à 17h, sans rendez-vous.",
                    "Le repas partagé d'hier soir a réuni plus de 80 voisines et voisins. Merci à toutes "
                    "et tous ❤️",
                    "Cours de français gratuits pour adultes : inscriptions à l'accueil ou ici {link}",
                    "La ludothèque est ouverte tout l'été, du mercredi au samedi 🎲",
                    "Fermeture exceptionnelle de l'accueil jeudi matin pour formation de l'équipe.",
                ),
                "en": ("Free French classes for adults: sign up at the front desk 📚",),
            },
            "partner": {
                "fr": (
                    "Merci à {partner} pour l'atelier réparation de samedi : 42 objets sauvés 🔧",
                    "Avec {partner}, on plante les bacs de la place Verte dimanche à 10h 🌱",
                    "Bravo à {partner} pour la fresque du préau, elle est magnifique 🎨",
                    "Rendez-vous avec {partner} pour la balade photo du quartier vendredi à 18h.",
                    "Grand merci à {partner} qui accueille notre permanence numérique cette semaine.",
                ),
            },
            "plans": {
                "fr": (
                    "Nous préparons la fête de quartier de septembre : venez donner vos idées mercredi !",
                    "Nos projets pour la rentrée : un café des parents et un atelier vélo. {link}",
                ),
            },
            "reply_other": {
                "fr": (
                    "{partner} Super initiative, on relaie dans notre lettre d'information !",
                    "{partner} Belle photo ! On sera là samedi.",
                    "{partner} Merci pour le compte-rendu, très utile pour les habitants.",
                ),
            },
            "quote": {
                "fr": (
                    "À lire 👇 le compte-rendu de la réunion des habitants.",
                    "Bel article sur le jardin partagé de la rue Voltaire 🌻",
                ),
            },
            "answer": {
                "fr": (
                    "{asker} Bonjour, oui, les enfants sont les bienvenus, c'est gratuit.",
                    "{asker} Bonjour ! La permanence a lieu mardi de 14h à 17h, à l'accueil.",
                    "{asker} Merci pour votre message, passez nous voir ou écrivez-nous : {link}",
                ),
                "en": ("{asker} Hi! Yes, everyone is welcome, it's free.",),
            },
        },
        alt_texts={
            "fr": (
                "Des bénévoles autour d'une table de réparation de vélos.",
                "Bacs de plantation fleuris sur la place Verte.",
            ),
        },
        questions={
            "fr": (
                "La permanence logement, c'est quel jour cette semaine ?",
                "On peut venir avec des enfants à l'atelier ?",
            ),
            "en": ("Are the French classes open to everyone?",),
        },
    ),
    "energy": Texts(
        site="atlas-energy.example",
        partners=(),
        templates={
            "news": {
                "en": (
                    "Atlas Energy third-quarter results are now available: {link}",
                    "Our annual sustainability report is published. Read it here: {link}",
                    "Atlas Energy appoints a new chief operating officer.",
                ),
            },
            "plans": {
                "en": (
                    "Update on the North Sea wind farm: the first 20 turbines are installed.",
                    "Our plans for the grid upgrade in Eastfield are published: {link}",
                ),
            },
            "promo": {"en": ("Switch to the Atlas green tariff and get a discount on your first bill.",)},
            "answer": {
                "en": (
                    "{asker} Please contact our customer service: {link}",
                    "{asker} Sorry for the inconvenience, please send us your account number privately.",
                ),
            },
        },
        alt_texts={"en": ("Wind turbines at sea under a grey sky.",)},
        questions={
            "en": ("When will the power cut in Eastfield be fixed?", "Why did my bill double this month?"),
            "fr": ("Quand la coupure à Eastfield sera-t-elle réparée ?",),
        },
    ),
    "festival": Texts(
        site="festival-lumiere.example",
        partners=(
            Member("benevoles_lumiere", "Bénévoles Lumière"),
            Member("ville_riviere", "Ville de Rivière"),
            Member("radio_quartier@piaille.fr", "Radio Quartier"),
        ),
        templates={
            "news": {
                "fr": (
                    "J-10 ! La programmation complète du Festival Lumière est en ligne : {link} ✨",
                    "Ce soir sur la grande scène : Clara Nova à 21h, puis les Lucioles à 23h 🎶",
                    "Les portes ouvrent à 18h, venez tôt pour le spectacle de feu 🔥",
                    "Quelle soirée ! Merci aux 6 000 festivaliers d'hier ❤️",
                    "Navettes gratuites depuis la gare toutes les 20 minutes jusqu'à 2h.",
                    "La grande roue lumineuse est installée sur le parvis 🎡",
                ),
                "en": ("Tonight on the main stage: Clara Nova at 9pm ✨",),
            },
            "plans": {
                "fr": (
                    "En coulisses : l'équipe lumière règle les 400 projecteurs du parvis 💡",
                    "Nous préparons une édition encore plus verte : voici notre feuille de route {link}",
                    "Prochainement : l'annonce des artistes du dimanche !",
                ),
            },
            "promo": {
                "fr": (
                    "Dernière chance : achetez vos pass 3 jours avant samedi ! {link}",
                    "Offre duo : deux places pour le concert de clôture à 45 €.",
                ),
            },
            "partner": {
                "fr": (
                    "Merci à {partner} pour les 200 bénévoles mobilisés 🙌",
                    "Rendez-vous au stand de {partner} pour découvrir les ateliers lumière.",
                ),
            },
            "reply_other": {"fr": ("{partner} Merci pour le relais !",)},
            "quote": {"fr": ("Le festival vu par nos partenaires 👇",)},
            "thread": {"fr": ("Mise à jour : la navette de 23h40 est doublée ce soir.",)},
            "answer": {
                "fr": (
                    "{asker} Bonjour, oui, il reste des places pour samedi : {link}",
                    "{asker} Le parvis est accessible aux poussettes et aux fauteuils, bon festival !",
                    "{asker} Bonne question, on vous répond en message privé.",
                ),
                "en": ("{asker} Hi, yes, tickets are still available: {link}",),
            },
        },
        alt_texts={
            "fr": (
                "La grande scène illuminée de projecteurs violets devant une foule.",
                "La grande roue lumineuse du parvis, de nuit.",
            ),
        },
        questions={
            "fr": (
                "Il reste des places pour samedi ?",
                "Le parvis est accessible aux poussettes ?",
                "C'est quand l'édition 2027 ?",
            ),
            "en": ("Are there still tickets for Saturday?",),
        },
    ),
    "civic_tech": Texts(
        site="opencitylab.example",
        partners=(
            Member("osm_riviere", "OpenStreetMap Rivière"),
            Member("data_citizens@mastodon.social", "Data Citizens"),
            Member("mairie_riviere", "Mairie de Rivière"),
        ),
        templates={
            "plans": {
                "en": (
                    "Behind the scenes: our team is prototyping the new open data portal. Screenshots 👇",
                    "Our plans for the autumn: publish the bike-lane dataset and open a public API. "
                    "Roadmap: {link}",
                    "Coming soon: a live dashboard of the city's air-quality sensors.",
                    "We are planning three public workshops on mobility data in October.",
                    "Update on the street-tree inventory: 4,200 trees mapped so far 🌳 {link}",
                    "Next month we will open the code of the participatory budget app.",
                    "Roadmap review: what we shipped this quarter and what comes next {link}",
                ),
                "fr": ("Nous préparons un atelier sur les données de mobilité, en français : {link}",),
            },
            "news": {
                "en": (
                    "Thanks to everyone who came to Tuesday's data meetup! Slides: {link}",
                    "New dataset: public toilets, with opening hours and accessibility {link}",
                ),
            },
            "partner": {"en": ("Great session with {partner} on open mapping today 🗺️",)},
            "quote": {"en": ("A good read on open data in small cities 👇",)},
            "thread": {
                "en": (
                    "The dataset follows the national schema, so it works with existing tools.",
                    "Known issues are listed in the repository; feedback welcome.",
                ),
            },
            "answer": {
                "en": (
                    "{asker} Good question! It's published as GeoJSON and CSV: {link}",
                    "{asker} Yes, workshops are hybrid, the link is in the sign-up email.",
                    "{asker} The tree inventory is under the Open Database Licence (ODbL).",
                ),
                "fr": ("{asker} Bonjour, oui, le jeu de données est disponible en CSV : {link}",),
            },
        },
        alt_texts={
            "en": (
                "Screenshot of the open data portal prototype showing a map of bike lanes.",
                "Whiteboard covered with sticky notes from the workshop.",
            ),
        },
        questions={
            "en": (
                "Is the bike-lane dataset available as GeoJSON?",
                "Which licence does the tree inventory use?",
                "Can we join the workshop remotely?",
            ),
            "fr": ("Les ateliers sont ouverts aux débutants ?",),
        },
    ),
    "theatre": Texts(
        site="petit-theatre.example",
        partners=(
            Member("cie_les_lucioles", "Compagnie les Lucioles"),
            Member("biblio_centre", "Bibliothèque du Centre"),
        ),
        templates={
            "news": {
                "fr": (
                    "Ce soir à 20h : « Les Fourberies de Scapin » par notre troupe 🎭 {link}",
                    "Répétition générale de notre nouvelle création, quelques photos ⬇️",
                    "Atelier théâtre pour les enfants mercredi à 15h, il reste 3 places.",
                    "Merci au public d'hier soir, salle comble ! ❤️",
                    "Lecture publique gratuite samedi à 17h au foyer du théâtre 📖",
                ),
                "en": ("Tonight at 8pm: « Scapin » by our company 🎭",),
            },
            "plans": {
                "fr": (
                    "Nous préparons la saison prochaine : trois créations et un temps fort jeune public.",
                    "En coulisses : fabrication des décors de notre prochaine création 🪚",
                ),
            },
            "partner": {"fr": ("Merci à {partner} pour le prêt des costumes 👗",)},
            "reply_other": {"fr": ("{partner} Bravo pour la première, quelle belle soirée !",)},
            "thread": {"fr": ("Les photos de la soirée sont dans l'album du site.",)},
            "answer": {
                "fr": (
                    "{asker} Bonjour, oui, il reste quelques places vendredi, réservation au 01 23 45 67 89.",
                    "{asker} Le spectacle est adapté dès 7 ans. Belle soirée !",
                ),
                "en": ("{asker} Hello, yes, a few seats are left for Friday.",),
            },
        },
        alt_texts={
            "fr": (
                "Deux comédiens en costume d'époque sur scène, éclairés par une lumière bleue.",
                "Le décor en bois de la nouvelle création, vu depuis la salle vide.",
                "Une dizaine d'enfants en cercle pendant l'atelier théâtre.",
            ),
            "en": ("Two actors in period costume on stage under blue light.",),
        },
        questions={
            "fr": (
                "Il reste des places pour Scapin vendredi ?",
                "Le spectacle convient à des enfants de 6 ans ?",
            ),
            "en": ("Is the show suitable for a 6-year-old?",),
        },
    ),
    "food_coop": Texts(
        site="greenvalley.example",
        partners=(Member("hill_farm", "Hill Farm"), Member("millbrook_bakery", "Millbrook Bakery")),
        templates={
            "news": {
                "en": (
                    "New at the co-op: honey from the Hill farm, two streets away 🍯",
                    "Our members' meeting is on Thursday at 7pm in the back room.",
                    "Volunteers needed for Saturday's harvest! Boots recommended 🥕",
                    "The shop is open until 8pm on Fridays from now on.",
                ),
            },
            "plans": {
                "en": (
                    "We are planning a second pick-up point on the east side. Tell us what you think: {link}",
                    "Our plans for winter: a soup night every month with the surplus vegetables.",
                ),
            },
            "promo": {"en": ("Members' discount on seasonal veg boxes this week 🥬",)},
            "partner": {"en": ("Thanks to {partner} for the fresh apples this week 🍎",)},
            "reply_other": {"en": ("{partner} Lovely! See you at the market.",)},
            "quote": {"en": ("Our friends at the farm explain how they grow without pesticides 👇",)},
            "thread": {"en": ("Pick-up hours stay the same for now.",)},
            "answer": {
                "en": (
                    "{asker} Hi! We deliver to Millbrook on Tuesdays.",
                    "{asker} Yes, everyone can shop with us; members pay a little less.",
                ),
            },
        },
        alt_texts={"en": ("Crates of apples and squash on a wooden table at the co-op.",)},
        questions={
            "en": ("Do you deliver to Millbrook?", "Can non-members shop at the co-op?"),
            "fr": ("Vous livrez à Millbrook ?",),
        },
    ),
}

_GENERIC_QUESTIONS: Final = {
    "fr": (
        "Bonjour, c'est ouvert ce dimanche ?",
        "Est-ce qu'il faut réserver à l'avance ?",
        "Où trouver les infos à jour ?",
        "C'est accessible en fauteuil roulant ?",
        "Quelqu'un peut me répondre ? J'ai écrit par mail la semaine dernière.",
    ),
    "en": (
        "Is this open on Sunday?",
        "Do I need to book in advance?",
        "Where can I find up-to-date info?",
        "Is it wheelchair accessible?",
        "Could someone get back to me? I emailed last week.",
    ),
}
# Comments never hold a question mark outside a URL: that is how normalize tells questions apart.
_COMMENTS: Final = {
    "fr": (
        "Merci pour l'info 👍",
        "Super initiative, bravo à toute l'équipe !",
        "Pas terrible cette semaine… 😤",
        "J'adore ❤️",
        "Très bonne nouvelle pour le quartier.",
        "Les photos de samedi sont ici : {link}",
        "Test <script>alert(1)</script> 😅",
        "Génial, à très vite !",
    ),
    "en": (
        "Thanks for the update 👍",
        "Great news!",
        "Love this 💚",
        "Not impressed this week, to be honest.",
        "Photos from Saturday are here: {link}",
        "<script>alert(1)</script> lol",
        "Café crème ☕ and a good read, merci !",
    ),
}
_PUBLIC_LINKS: Final = (
    "https://exemple.fr/album?id=42",
    "https://photos.example.org/set/2026?sort=new&page=2",
    "https://example.org/blog/rapport",
)
_QUOTE_QUESTION_SHARE: Final = 0.2
_EDIT_SHARE: Final = 0.04
_PUBLIC_IN_ORG_LANGUAGE: Final = 0.75
_TOKEN: Final = re.compile(r"\{(link|partner|asker|org)\}")


def _other_language(language: str) -> str:
    return "en" if language == "fr" else "fr"


# --------------------------------------------------------------------------- generation


@dataclass
class OrgStatus:
    """A status published by a demo organization, as generated."""

    id: str
    created_at: datetime
    language: str | None
    content: str
    in_reply_to: tuple[str, str] | None = None  # (status id, account id)
    reblog: tuple[str, Member] | None = None
    quote: tuple[str, Member] | None = None
    mentions: tuple[Member, ...] = ()
    media: tuple[tuple[str, str | None], ...] = ()  # (media id, description)
    favourites: int = 0
    reblogs: int = 0
    edited_at: datetime | None = None
    reply_times: list[datetime] = field(default_factory=list)


@dataclass(frozen=True)
class PublicPost:
    """A status of a member of the public addressed to a demo organization."""

    id: str
    created_at: datetime
    author: Member
    language: str
    content: str
    in_reply_to: str | None
    quote_of: str | None
    is_question: bool


@dataclass(frozen=True)
class Day:
    """Everything generated for one account on one calendar day."""

    statuses: tuple[OrgStatus, ...]
    public_posts: tuple[PublicPost, ...]


def account_member(archetype: Archetype) -> Member:
    """The demo organization's own account."""
    return Member(archetype.name, archetype.display_name)


def week_of(moment: date | datetime) -> int:
    """Return the week index of a day or moment: 0 for the week starting on DEMO_START."""
    day = moment.date() if isinstance(moment, datetime) else moment
    return (day - DEMO_START.date()).days // 7


class _DayWriter:
    """Generates one day of one account; every draw comes from the day's own seeded generator."""

    def __init__(self, seed: str, archetype: Archetype, day: date) -> None:
        self.archetype = archetype
        self.texts = TEXTS[archetype.topic]
        self.org = account_member(archetype)
        self.day = day
        self.rng = random.Random(f"{seed}:@{archetype.name}:{day.isoformat()}")
        self.phase = archetype.phase_at_week(week_of(day))
        self.statuses: list[OrgStatus] = []
        self.public_posts: list[PublicPost] = []
        self._sequence = 0

    # -- small draws

    def next_id(self) -> str:
        self._sequence += 1
        return f"{self.day:%Y%m%d}{self.archetype.number:02d}{self._sequence:05d}"

    def poisson(self, mean: float) -> int:
        # Knuth's method: fine for the small means used here.
        if mean <= 0:
            return 0
        limit, count, product = math.exp(-mean), 0, self.rng.random()
        while product > limit:
            count += 1
            product *= self.rng.random()
        return count

    def later(self, moment: datetime, low_minutes: float, high_minutes: float) -> datetime:
        """A moment after ``moment``, log-uniformly between the bounds (whole seconds)."""
        minutes = math.exp(self.rng.uniform(math.log(low_minutes), math.log(high_minutes)))
        return moment + timedelta(seconds=round(minutes * 60))

    def at_minute_of_day(self, low_minutes: float, high_minutes: float) -> datetime:
        start = datetime.combine(self.day, time(), UTC)
        return start + timedelta(seconds=round(self.rng.uniform(low_minutes, high_minutes) * 60))

    def org_language(self) -> str:
        main = self.archetype.language
        return _other_language(main) if self.rng.random() < self.archetype.other_language_share else main

    def template(self, category: str, language: str) -> tuple[str, str]:
        """Pick a template of a category, in ``language`` when there is one; return it and its language."""
        pools = self.texts.templates.get(category) or self.texts.templates["news"]
        if language not in pools:
            language = self.archetype.language if self.archetype.language in pools else next(iter(pools))
        return self.rng.choice(pools[language]), language

    def link(self) -> str:
        return f"https://{self.texts.site}/{self.rng.choice(_LINK_PATHS)}"

    def render(
        self, template: str, members: Mapping[str, Member], link: str
    ) -> tuple[str, tuple[Member, ...]]:
        """Render a template as Mastodon-style HTML; return it and the accounts it mentions."""
        pieces: list[str] = []
        mentioned: list[Member] = []
        for index, piece in enumerate(_TOKEN.split(template)):
            if index % 2 == 0:
                pieces.append(escape(piece).replace("\n", "<br />"))
            elif piece == "link":
                pieces.append(_link_html(link))
            else:
                member = members[piece]
                pieces.append(_mention_html(member))
                mentioned.append(member)
        return f"<p>{''.join(pieces)}</p>", tuple(mentioned)

    def activity_at(self, moment: datetime) -> float:
        return self.archetype.phase_at_week(week_of(moment)).activity

    # -- the day

    def write(self) -> Day:
        archetype = self.archetype
        chance = min(1.0, archetype.active_weekdays[self.day.weekday()] * self.phase.activity)
        if self.rng.random() < chance:
            count = 1 + self.poisson(archetype.extra_posts_per_active_day * min(1.0, self.phase.activity))
            moments = sorted(self.at_minute_of_day(7 * 60, 21 * 60) for _ in range(count))
            for moment in moments:
                self.write_action(moment)
        for _ in range(self.poisson(archetype.public_mentions_per_day * self.phase.public)):
            self.write_public_post(self.at_minute_of_day(6 * 60, 24 * 60 - 1))
        return Day(tuple(self.statuses), tuple(self.public_posts))

    def write_action(self, moment: datetime) -> None:
        archetype = self.archetype
        draw = self.rng.random()
        if draw < archetype.repost_share:
            self.write_repost(moment)
        elif draw < archetype.repost_share + archetype.quote_share:
            self.write_original(moment, quoting=True)
        elif draw < archetype.repost_share + archetype.quote_share + archetype.reply_to_others_share:
            self.write_reply_to_partner(moment)
        else:
            self.write_original(moment, quoting=False)

    def community_member(self) -> Member:
        # Reposts share partners' posts mostly, members of the public's sometimes.
        if self.texts.partners and self.rng.random() < 0.7:
            return self.rng.choice(self.texts.partners)
        return self.rng.choice(PUBLIC)

    def write_repost(self, moment: datetime) -> None:
        author = self.community_member()
        self.statuses.append(
            OrgStatus(
                id=self.next_id(),
                created_at=moment,
                language=None,
                content="",
                reblog=(self.next_id(), author),
            )
        )

    def write_reply_to_partner(self, moment: datetime) -> None:
        partner = self.community_member()
        language = self.org_language()
        text, language = self.template("reply_other", language)
        content, mentions = self.render(text, {"partner": partner}, self.link())
        self.statuses.append(
            OrgStatus(
                id=self.next_id(),
                created_at=moment,
                language=language,
                content=content,
                in_reply_to=(self.next_id(), partner.id),
                mentions=mentions,
                favourites=self.rng.randint(0, 12),
            )
        )

    def category(self) -> str:
        archetype = self.archetype
        draw = self.rng.random()
        for category, share in (
            ("plans", archetype.plans_share),
            ("promo", archetype.promo_share),
            ("partner", archetype.partner_share),
        ):
            if draw < share:
                return category if category in self.texts.templates else "news"
            draw -= share
        return "news"

    def write_original(self, moment: datetime, *, quoting: bool) -> None:
        archetype = self.archetype
        category = "quote" if quoting else self.category()
        text, language = self.template(category, self.org_language())
        members = {"partner": self.rng.choice(self.texts.partners)} if "{partner}" in text else {}
        content, mentions = self.render(text, members, self.link())
        status_id = self.next_id()
        quote = (self.next_id(), self.community_member()) if quoting else None
        media: list[tuple[str, str | None]] = []
        if self.rng.random() < archetype.media_share:
            for index in range(1 if self.rng.random() < 0.8 else 2):
                media.append((f"{status_id}{index:02d}", self.alt_text(language)))
        # Engagement grows with the square root of the audience, as on real platforms.
        favourites = round(math.sqrt(archetype.followers_at_start) * self.rng.uniform(0.1, 1.2))
        edited_at = self.later(moment, 2, 30) if self.rng.random() < _EDIT_SHARE else None
        status = OrgStatus(
            id=status_id,
            created_at=moment,
            language=language,
            content=content,
            quote=quote,
            mentions=mentions,
            media=tuple(media),
            favourites=favourites,
            reblogs=round(favourites * self.rng.uniform(0.05, 0.35)),
            edited_at=edited_at,
        )
        self.statuses.append(status)
        if self.rng.random() < archetype.thread_share:
            self.write_thread_reply(status)
        for _ in range(self.poisson(archetype.public_replies_per_post * self.phase.public)):
            reply_at = self.later(moment, 3, MAX_PUBLIC_REPLY_DELAY_MINUTES)
            self.write_public_post(reply_at, reply_to=status)
        if self.rng.random() < archetype.public_quotes_per_post * self.phase.public:
            self.write_public_post(self.later(moment, 5, 24 * 60), quote_of=status)

    def alt_text(self, language: str) -> str | None:
        if self.rng.random() < self.archetype.alt_text_share:
            pool = self.texts.alt_texts.get(language) or next(iter(self.texts.alt_texts.values()))
            return self.rng.choice(pool)
        # Platforms send null or an empty string when no alt text was written.
        return None if self.rng.random() < 0.8 else ""

    def write_thread_reply(self, parent: OrgStatus) -> None:
        moment = self.later(parent.created_at, 1, 10)
        text, language = self.template("thread", parent.language or self.archetype.language)
        content, mentions = self.render(text, {}, self.link())
        parent.reply_times.append(moment)
        self.statuses.append(
            OrgStatus(
                id=self.next_id(),
                created_at=moment,
                language=language,
                content=content,
                in_reply_to=(parent.id, self.org.id),
                mentions=mentions,
                favourites=self.rng.randint(0, 20),
            )
        )

    def write_public_post(
        self, moment: datetime, *, reply_to: OrgStatus | None = None, quote_of: OrgStatus | None = None
    ) -> None:
        archetype = self.archetype
        author = self.rng.choice(PUBLIC)
        language = (
            archetype.language
            if self.rng.random() < _PUBLIC_IN_ORG_LANGUAGE
            else _other_language(archetype.language)
        )
        share = _QUOTE_QUESTION_SHARE if quote_of else archetype.question_share
        is_question = self.rng.random() < share
        if is_question:
            pool = self.texts.questions.get(language, ()) + _GENERIC_QUESTIONS[language]
        else:
            pool = _COMMENTS[language]
        text = "{org} " + self.rng.choice(pool)
        content, _ = self.render(text, {"org": self.org}, self.rng.choice(_PUBLIC_LINKS))
        post = PublicPost(
            id=self.next_id(),
            created_at=moment,
            author=author,
            language=language,
            content=content,
            in_reply_to=reply_to.id if reply_to else None,
            quote_of=quote_of.id if quote_of else None,
            is_question=is_question,
        )
        self.public_posts.append(post)
        if reply_to is not None:
            reply_to.reply_times.append(moment)
        if is_question:
            self.write_answer(post)

    def write_answer(self, question: PublicPost) -> None:
        archetype = self.archetype
        draw = self.rng.random()
        moment = self.later(question.created_at, *archetype.answer_delay_minutes)
        # An organization that barely posts barely answers, and a silent one does not answer at all.
        if draw >= archetype.answer_share * min(1.0, self.activity_at(moment)):
            return
        text, language = self.template("answer", question.language)
        content, mentions = self.render(text, {"asker": question.author}, self.link())
        self.statuses.append(
            OrgStatus(
                id=self.next_id(),
                created_at=moment,
                language=language,
                content=content,
                in_reply_to=(question.id, question.author.id),
                mentions=mentions,
                favourites=self.rng.randint(0, 5),
            )
        )


def _link_html(url: str) -> str:
    # Mastodon's markup: the scheme hidden, long addresses cut with an ellipsis.
    scheme, _, rest = url.partition("://")
    visible, hidden = rest[:30], rest[30:]
    return (
        f'<a href="{escape(url)}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">{escape(scheme)}://</span>'
        f'<span class="{"ellipsis" if hidden else ""}">{escape(visible)}</span>'
        f'<span class="invisible">{escape(hidden)}</span></a>'
    )


def _mention_html(member: Member) -> str:
    return (
        f'<span class="h-card" translate="no"><a href="{escape(member.url)}" class="u-url mention">'
        f"@<span>{escape(member.username)}</span></a></span>"
    )


def generate_day(seed: str, archetype: Archetype, day: date) -> Day:
    """Generate everything that starts on ``day`` for an account; empty before the account exists."""
    if day < DEMO_START.date() or day < archetype.created_at.date():
        return Day((), ())
    return _DayWriter(seed, archetype, day).write()


def followers_at(archetype: Archetype, moment: datetime) -> int:
    """Return the account's followers at ``moment``, along its archetype's growth per phase."""
    start = max(DEMO_START, archetype.created_at)
    week = timedelta(weeks=1)
    position, end = (start - DEMO_START) / week, (moment - DEMO_START) / week
    total = float(archetype.followers_at_start)
    while position < end:
        step_end = min(end, math.floor(position) + 1)
        total += archetype.phase_at_week(math.floor(position)).followers_per_week * (step_end - position)
        position = step_end
    return max(0, round(total))


# --------------------------------------------------------------------------- the API


def format_timestamp(moment: datetime) -> str:
    """Format a UTC moment as Mastodon does: ``2026-05-25T08:15:00.000Z``."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def _parse_moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class DemoResponse:
    """One answer of the demo platform."""

    status: int
    body: bytes
    next_params: dict[str, str] | None = None
    """The parameters of the next page, as a ``Link: rel="next"`` header would give them."""


class DemoApiError(Exception):
    """A request the demo platform refuses (bad parameter); carries the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class DemoClient:
    """A client of the demo platform, signed in as one account.

    ``now`` is the platform's clock: the account's followers and post count
    are those at that moment and nothing published at or after it is served.
    Generated days are cached in the instance, so paging through a window
    generates each day once.
    """

    def __init__(self, handle: str, *, seed: str, now: datetime) -> None:
        self.handle = handle
        self.seed = seed
        self.now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
        self.archetype = ARCHETYPES.get(handle.lstrip("@"))
        self._days: dict[date, Day] = {}
        self._listings: dict[tuple[str, datetime, datetime], list[JsonObject]] = {}

    def url(self, endpoint: str, params: Mapping[str, str]) -> str:
        return api_url(endpoint, params)

    def get(self, endpoint: str, params: Mapping[str, str]) -> DemoResponse:
        """Answer one GET request.

        Returns a 200 response with the JSON body of the endpoint, a 404 for an
        account that does not exist (unknown, or not yet created at ``now``), a
        400 for a bad parameter. Never raises.
        """
        try:
            if self.archetype is None or self.now <= self.archetype.created_at:
                raise DemoApiError(404, "Record not found")
            if endpoint == LOOKUP_ENDPOINT:
                if params.get("acct", "").lstrip("@") != self.archetype.name:
                    raise DemoApiError(404, "Record not found")
                return DemoResponse(200, _dump(self._account_json(self.archetype)))
            if endpoint == STATUSES_ENDPOINT:
                return self._page(endpoint, params, self.archetype)
            if endpoint == NOTIFICATIONS_ENDPOINT:
                if params.get("types", "mention") != "mention":
                    raise DemoApiError(400, "only types=mention is supported")
                return self._page(endpoint, params, self.archetype)
            raise DemoApiError(404, f"no endpoint {endpoint!r}")
        except DemoApiError as error:
            return DemoResponse(error.status, _dump({"error": str(error)}))

    # -- generation, cached per day

    def _day(self, archetype: Archetype, day: date) -> Day:
        if day not in self._days:
            self._days[day] = generate_day(self.seed, archetype, day)
        return self._days[day]

    def _days_from(self, archetype: Archetype, first: date, until: datetime) -> list[Day]:
        """The generated days from ``first`` to the last one that starts before ``until``."""
        days = []
        day = max(first, DEMO_START.date())
        while datetime.combine(day, time(), UTC) < until:
            days.append(self._day(archetype, day))
            day += timedelta(days=1)
        return days

    def _account_json(self, archetype: Archetype) -> JsonObject:
        member = account_member(archetype)
        published = sum(
            1
            for day in self._days_from(archetype, DEMO_START.date(), self.now)
            for status in day.statuses
            if status.created_at < self.now
        )
        return {
            "id": member.id,
            "username": member.username,
            "acct": member.acct,
            "display_name": archetype.display_name,
            "locked": False,
            "bot": False,
            "created_at": format_timestamp(archetype.created_at),
            "url": member.url,
            "followers_count": followers_at(archetype, self.now),
            "following_count": archetype.following_count,
            "statuses_count": archetype.statuses_before_start + published,
        }

    # -- listings, paged

    def _page(self, endpoint: str, params: Mapping[str, str], archetype: Archetype) -> DemoResponse:
        since, until, number = listing_parameters(params, self.now)
        key = (endpoint, since, until)
        if key not in self._listings:
            self._listings[key] = self._listing(endpoint, archetype, since, until)
        items, next_params = page_of(self._listings[key], number, params)
        return DemoResponse(200, _dump(items), next_params)

    def _listing(
        self, endpoint: str, archetype: Archetype, since: datetime, until: datetime
    ) -> list[JsonObject]:
        """Every item of an endpoint published in [since, until), newest first."""
        org = account_member(archetype)
        # Items generated up to GENERATION_LOOKBACK before the window may be published in it.
        first = (since - GENERATION_LOOKBACK).date()
        days = self._days_from(archetype, first, until) if since < until else []
        items: list[tuple[datetime, str, JsonObject]] = []
        if endpoint == STATUSES_ENDPOINT:
            for day in days:
                for status in day.statuses:
                    if since <= status.created_at < until:
                        items.append((status.created_at, status.id, _status_json(status, org, until)))
        else:
            for day in days:
                for post in day.public_posts:
                    if since <= post.created_at < until:
                        items.append((post.created_at, post.id, _notification_json(post, org)))
        items.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [item for _, _, item in items]


def api_url(endpoint: str, params: Mapping[str, str]) -> str:
    """Return the URL a request would go to (the demo platform has no secrets to hide)."""
    query = f"?{urlencode(params)}" if params else ""
    return f"{BASE_URL}{API_PREFIX}{endpoint}{query}"


def listing_parameters(params: Mapping[str, str], now: datetime) -> tuple[datetime, datetime, int]:
    """The window (its end capped at the platform's clock) and page number of a listing request.

    Raises ``DemoApiError`` (400) on a missing or malformed parameter.
    """
    try:
        since = _parse_moment(params["since"])
        until = min(_parse_moment(params["until"]), now)
        number = int(params.get("page", "1"))
    except (KeyError, ValueError) as error:
        raise DemoApiError(400, f"bad or missing parameter: {error}") from error
    if number < 1:
        raise DemoApiError(400, "page must be 1 or more")
    return since, until, number


def page_of(items: list[T], number: int, params: Mapping[str, str]) -> tuple[list[T], dict[str, str] | None]:
    """Page ``number`` of a listing and the parameters of the next page (None on the last)."""
    start = (number - 1) * PAGE_SIZE
    next_params = {**params, "page": str(number + 1)} if start + PAGE_SIZE < len(items) else None
    return items[start : start + PAGE_SIZE], next_params


def _dump(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _status_json(status: OrgStatus, org: Member, until: datetime) -> JsonObject:
    # Values "at observation time": an edit or a reply after the window's end has not happened yet.
    edited_at = status.edited_at if status.edited_at and status.edited_at < until else None
    return {
        "id": status.id,
        "created_at": format_timestamp(status.created_at),
        "in_reply_to_id": status.in_reply_to[0] if status.in_reply_to else None,
        "in_reply_to_account_id": status.in_reply_to[1] if status.in_reply_to else None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": status.language,
        "url": f"{org.url}/{status.id}",
        "replies_count": sum(1 for moment in status.reply_times if moment < until),
        "reblogs_count": status.reblogs,
        "favourites_count": status.favourites,
        "edited_at": format_timestamp(edited_at) if edited_at else None,
        "content": status.content,
        "reblog": _shared_json(status.reblog),
        "quote": _quote_json(status.quote),
        "account": org.reference(),
        "media_attachments": [
            {
                "id": media_id,
                "type": "image",
                "url": f"{BASE_URL}/media/{media_id}.jpg",
                "description": description,
            }
            for media_id, description in status.media
        ],
        "mentions": [
            {"id": member.id, "username": member.username, "acct": member.acct, "url": member.url}
            for member in status.mentions
        ],
    }


def _shared_json(shared: tuple[str, Member] | None) -> JsonObject | None:
    if shared is None:
        return None
    status_id, author = shared
    return {"id": status_id, "account": author.reference()}


def _quote_json(shared: tuple[str, Member] | None) -> JsonObject | None:
    """A Mastodon Quote (4.5): the quoted status, accepted by its author (the demo's always are)."""
    quoted = _shared_json(shared)
    return {"state": "accepted", "quoted_status": quoted} if quoted is not None else None


def _notification_json(post: PublicPost, org: Member) -> JsonObject:
    return {
        "id": f"{post.id}1",
        "type": "mention",
        "created_at": format_timestamp(post.created_at),
        "account": post.author.reference(),
        "status": {
            "id": post.id,
            "created_at": format_timestamp(post.created_at),
            "account": post.author.reference(),
            "in_reply_to_id": post.in_reply_to,
            "in_reply_to_account_id": org.id if post.in_reply_to else None,
            "visibility": "public",
            "language": post.language,
            "content": post.content,
            "quote": _quote_json((post.quote_of, org) if post.quote_of else None),
            "mentions": [{"id": org.id, "username": org.username, "acct": org.acct, "url": org.url}],
        },
    }
