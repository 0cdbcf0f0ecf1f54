"""Word lists for the sample organisation: names, unit names, file names and filler words.

Every name is a combination drawn from these lists; no text comes from real people or real
conversations. Message and commit text is Latin-like filler plus the structural parts
(mentions, paths, pull-request links) the planted structures need.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "AREA_FILES",
    "CODENAMES",
    "DEPARTMENT_SUFFIXES",
    "DEPARTMENT_WORDS",
    "FILLER",
    "FIRST_NAMES",
    "LAST_NAMES",
    "LOCATIONS",
    "NICKNAMES",
    "ORG_WORDS",
    "TEAM_DOMAINS",
    "TEAM_SUFFIXES",
]

FIRST_NAMES: Final = (  # noqa: SIM905
    "Aaliyah Abel Ada Adaeze Adrian Agnes Aiko Ainhoa Aisha Alba Aleksander Alejandro Alina "
    "Amara Amir Ana Anders Andrea Anika Anton Arjun Astrid Aurelio Ayumi Bao Beatriz Benedikt "
    "Bianca Bjorn Blessing Bogdan Bruno Camille Carla Carmen Cedric Chen Chiara Chidi Clara "
    "Cosmin Dalia Damian Daniela Dario Dawit Deepa Desmond Diego Dilnoza Dmitri Dominika Eamon "
    "Edith Efua Elif Elena Eliza Emeka Emil Erik Esther Fabian Farah Fatima Felix Femi Fiona "
    "Florin Freya Gabriel Gaia Georgios Gideon Greta Gustavo Hana Hannes Haruto Helena Henrik "
    "Hiroshi Ibrahim Ida Ifeoma Ilse Imani Ines Ingrid Ioana Irene Isaac Ivana Jakob Jana "
    "Javier Jelena Jonas Joaquim Jun Kaito Kamala Karim Katarina Kavya Kenji Kiran Klara Kofi "
    "Lars Laila Lea Leon Lidia Lina Lorenzo Luca Lucia Luis Maelle Magnus Mai Malik Marek "
    "Mariam Marta Mateo Maya Mehmet Mei Mikael Mina Mirela Moana Nadia Naoki Nasser Nia Nikolai "
    "Nils Noor Oksana Olga Omar Oscar Paloma Pavel Pedro Petra Priya Quentin Rafael Rania Ravi "
    "Renata Rhea Rosa Ruben Rui Sade Salma Samir Sanna Santiago Sara Sebastian Selin Seo-yeon "
    "Shira Simone Sofia Stefan Sunita Tariq Teodor Thea Tomas Uma Valentina Vera Viktor Wanjiru "
    "Xavier Yara Yusuf Zainab Zoran"
).split()

LAST_NAMES: Final = (  # noqa: SIM905
    "Abara Adeyemi Ahlberg Alvarez Amato Andersen Arslan Asante Bakker Balogun Banerjee Barros "
    "Becker Bergstrom Bianchi Borges Brandt Castillo Cekic Chandra Chowdhury Costa Dahl Danso "
    "Delgado Demir Dimitrov Dubois Eriksen Esposito Falk Farouk Ferreira Fischer Fonseca Galli "
    "Garcia Gashi Gomes Grabowski Gupta Haddad Hakimi Hansen Hartmann Hashemi Horvat Hoang "
    "Ibarra Ivanova Iyer Jablonski Jensen Jovanovic Kahn Kaminski Kapoor Karlsson Kaya Keller "
    "Kim Kowalczyk Kruger Kumar Lambert Larsen Lehmann Lindqvist Lopes Lorenz Maddox Mahlangu "
    "Marin Martens Mbeki Mendes Menon Meyer Moreau Morales Murata Nakamura Navarro Ndlovu "
    "Nguyen Nielsen Novak Nowak Obi Odhiambo Okafor Okonkwo Olsen Ortega Osei Ozturk Park "
    "Pereira Petrov Pham Popescu Quist Rahman Ramos Rao Reyes Ricci Rossi Saarinen Sahin Santos "
    "Sato Schmidt Schneider Sharma Silva Sokolov Soto Suzuki Szabo Takahashi Tanaka Teixeira "
    "Toth Tran Uzor Vargas Varga Verma Vieira Vogel Voss Wagner Watanabe Weber Wojcik Yamada "
    "Yilmaz Yildiz Zapata Zhang Zielinski Zimmermann Zou"
).split()

NICKNAMES: Final = (  # noqa: SIM905
    "ace ash bee bix cam dex dot echo fen fox gus hal ink jax jet kit koa lux max mo neo nix oz "
    "pip quill rae rio roo sky sol tam taz tig ula vee wren xan yaz zed zo"
).split()

TEAM_DOMAINS: Final = (  # noqa: SIM905
    "Payments Billing Checkout Search Identity Accounts Ledger Catalog Pricing Orders Shipping "
    "Inventory Messaging Notifications Ingestion Storage Compute Network Observability Metrics "
    "Logging Release Build Deploy Mobile Web Desktop Maps Media Video Audio Recommendations "
    "Ranking Ads Fraud Risk Compliance Privacy Security Auth Sessions Profiles Onboarding "
    "Growth Experiments Analytics Reporting Warehouse Streaming Scheduling Workflow Documents "
    "Translation Support Partners Marketplace Subscriptions Tax Invoicing Loyalty Routing"
).split()

TEAM_SUFFIXES: Final = (  # noqa: SIM905
    "API Platform Core Data Infra Services Tools Experience Pipeline Gateway Engine Clients "
    "Runtime Backend Frontend Quality Foundations Systems Operations Insights Integrations "
    "Automation Reliability Enablement Labs Modelling Serving Storage Edge"
).split()

DEPARTMENT_WORDS: Final = (  # noqa: SIM905
    "Commerce Platform Data Consumer Enterprise Infrastructure Trust Money Delivery Creator "
    "Developer Cloud Client Core Marketplace Intelligence Foundations Operations Health Travel "
    "Media Logistics Finance Community Devices Services Integrations Insights"
).split()

DEPARTMENT_SUFFIXES: Final = (  # noqa: SIM905
    "Engineering Systems Products Technology Solutions Group Services Programs"
).split()

ORG_WORDS: Final = (  # noqa: SIM905
    "Product Infrastructure Platform Business Consumer Enterprise Data Core Growth Foundation"
).split()

CODENAMES: Final = (  # noqa: SIM905
    "basalt cobalt quartz onyx garnet jasper opal topaz agate beryl zircon pyrite mica slate "
    "flint amber coral ivory obsidian gneiss granite marble shale tuff pumice feldspar galena "
    "heron kestrel osprey plover wren finch lark egret ibis crane swift tern rook merlin aspen "
    "birch cedar larch maple rowan spruce willow alder hazel juniper linden sorrel"
).split()

AREA_FILES: Final = (  # noqa: SIM905
    "api.py handlers.py models.py service.py client.py config.py schema.sql routes.py views.py "
    "utils.py cache.py auth.py events.py jobs.py metrics.py storage.py validate.py README.md "
    "BUILD errors.py types.py queue.py retry.py serializer.py"
).split()

FILLER: Final = (  # noqa: SIM905
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut "
    "labore et dolore magna aliqua enim minim veniam quis nostrud exercitation ullamco laboris "
    "nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate velit esse "
    "cillum fugiat nulla pariatur excepteur sint occaecat cupidatat non proident sunt culpa qui "
    "officia deserunt mollit anim id est laborum"
).split()

#: (location, country, IANA time zone, weight)
LOCATIONS: Final = (
    ("Berlin", "DE", "Europe/Berlin", 5),
    ("London", "GB", "Europe/London", 4),
    ("Lisbon", "PT", "Europe/Lisbon", 2),
    ("Warsaw", "PL", "Europe/Warsaw", 2),
    ("New York", "US", "America/New_York", 4),
    ("San Francisco", "US", "America/Los_Angeles", 4),
    ("Toronto", "CA", "America/Toronto", 2),
    ("Sao Paulo", "BR", "America/Sao_Paulo", 1),
    ("Bangalore", "IN", "Asia/Kolkata", 3),
    ("Singapore", "SG", "Asia/Singapore", 1),
    ("Tokyo", "JP", "Asia/Tokyo", 1),
    ("Remote", "", "UTC", 1),
)
