"""Regenerate services/bayit/src/bayit/data/catalog.json, the sample catalog `bayit seed` loads (deterministic)."""

from __future__ import annotations

import json
import random
from pathlib import Path

NOUNS = [
    ("Nights", "לילות"),
    ("Summer", "קיץ"),
    ("Secrets", "סודות"),
    ("Love", "אהבה"),
    ("Winds", "רוחות"),
    ("Echoes", "הדים"),
    ("Stories", "סיפורים"),
    ("Shadows", "צללים"),
    ("Dreams", "חלומות"),
    ("Letters", "מכתבים"),
]
PLACES = [
    ("Jerusalem", "ירושלים"),
    ("Tel Aviv", "תל אביב"),
    ("Haifa", "חיפה"),
    ("the Galilee", "הגליל"),
    ("the Negev", "הנגב"),
    ("Jaffa", "יפו"),
    ("Eilat", "אילת"),
    ("Safed", "צפת"),
    ("Tiberias", "טבריה"),
    ("Be'er Sheva", "באר שבע"),
    ("Acre", "עכו"),
    ("Nazareth", "נצרת"),
    ("the Dead Sea", "ים המלח"),
    ("Ashdod", "אשדוד"),
    ("Netanya", "נתניה"),
]
SERIES = [
    ("The Kibbutz", "הקיבוץ"),
    ("Family Dinner", "ארוחת שישי"),
    ("The Unit", "היחידה"),
    ("Night Shift", "משמרת לילה"),
    ("The Neighbours", "השכנים"),
    ("Startup Nation", "אומת הסטארט-אפ"),
    ("The Market", "השוק"),
    ("Border Town", "עיר גבול"),
    ("The Rabbi's Daughter", "בת הרב"),
    ("High School", "תיכון"),
    ("The Newsroom", "חדר החדשות"),
    ("Second Chance", "הזדמנות שנייה"),
    ("The Old City", "העיר העתיקה"),
    ("Wedding Season", "עונת החתונות"),
    ("The Reservists", "המילואימניקים"),
    ("Coastline", "קו החוף"),
    ("The Vineyard", "הכרם"),
    ("Late Bloomers", "פורחים מאוחר"),
    ("The Bakery", "המאפייה"),
    ("Home Front", "העורף"),
]
PODCASTS = [
    ("History Hour", "שעת היסטוריה"),
    ("Tech Talk", "שיחת טכנולוגיה"),
    ("The Daily Brief", "התדריך היומי"),
    ("Kitchen Stories", "סיפורי מטבח"),
    ("Parenting Today", "הורות היום"),
    ("Money Matters", "ענייני כסף"),
    ("Science Corner", "פינת המדע"),
    ("Bible Study", 'לימוד תנ"ך'),
    ("Sports Weekly", "ספורט השבוע"),
    ("Music Notes", "תווים"),
    ("Hebrew in Ten Minutes", "עברית בעשר דקות"),
    ("Startup Diaries", "יומני סטארט-אפ"),
    ("Health Check", "בדיקת בריאות"),
    ("Travel Israel", "מטיילים בישראל"),
    ("Culture Club", "מועדון תרבות"),
]
MOVIE_CATEGORIES = ["drama", "comedy", "documentary", "thriller", "family", "romance"]
SERIES_CATEGORIES = ["drama", "comedy", "thriller", "kids", "documentary"]
PODCAST_CATEGORIES = ["news", "history", "technology", "culture", "education", "sports"]
CHANNELS = [
    ("Kan 11", "כאן 11", "news"),
    ("Keshet 12", "קשת 12", "entertainment"),
    ("Reshet 13", "רשת 13", "entertainment"),
    ("i24NEWS", "i24NEWS", "news"),
    ("Kan Educational", "כאן חינוכית", "kids"),
    ("Channel 14", "ערוץ 14", "news"),
    ("Sport 5", "ספורט 5", "sports"),
    ("Knesset Channel", "ערוץ הכנסת", "news"),
    ("Kan Bet Radio", "כאן ב", "radio"),
    ("Galei Tzahal", 'גלי צה"ל', "radio"),
    ("Music 24", "מוזיקה 24", "music"),
    ("Hop!", "הופ!", "kids"),
]


def build() -> dict[str, list[dict[str, object]]]:
    rnd = random.Random(20261128)
    items: list[dict[str, object]] = []
    for noun_en, noun_he in NOUNS:
        for place_en, place_he in PLACES:
            language = rnd.choice(["he", "he", "en"])
            title_en, title_he = f"{noun_en} in {place_en}", f"{noun_he} ב{place_he}"
            items.append(
                {
                    "type": "movie",
                    "title_en": title_en,
                    "title_he": title_he,
                    "title": title_he if language == "he" else title_en,
                    "description": f"A {rnd.choice(MOVIE_CATEGORIES)} set in {place_en}.",
                    "category": rnd.choice(MOVIE_CATEGORIES),
                    "language": language,
                    "year": rnd.randint(1985, 2026),
                    "duration_minutes": rnd.randint(80, 150),
                    "rating": round(rnd.uniform(5.5, 9.3), 1),
                    "episodes": None,
                }
            )
    for name_en, name_he in SERIES:
        for season in range(1, rnd.randint(2, 5)):
            language = rnd.choice(["he", "he", "en"])
            title_en, title_he = f"{name_en}: Season {season}", f"{name_he}: עונה {season}"
            items.append(
                {
                    "type": "series",
                    "title_en": title_en,
                    "title_he": title_he,
                    "title": title_he if language == "he" else title_en,
                    "description": f"Season {season} of {name_en}.",
                    "category": rnd.choice(SERIES_CATEGORIES),
                    "language": language,
                    "year": rnd.randint(2005, 2026),
                    "duration_minutes": rnd.randint(25, 55),
                    "rating": round(rnd.uniform(6.0, 9.5), 1),
                    "episodes": rnd.randint(6, 24),
                }
            )
    for name_en, name_he in PODCASTS:
        language = rnd.choice(["he", "en"])
        items.append(
            {
                "type": "podcast",
                "title_en": name_en,
                "title_he": name_he,
                "title": name_he if language == "he" else name_en,
                "description": f"{name_en}: a weekly podcast.",
                "category": rnd.choice(PODCAST_CATEGORIES),
                "language": language,
                "year": rnd.randint(2015, 2026),
                "duration_minutes": rnd.randint(15, 70),
                "rating": round(rnd.uniform(6.5, 9.5), 1),
                "episodes": rnd.randint(10, 400),
            }
        )
    for i, item in enumerate(items, start=1):
        item["poster_url"] = f"/media/posters/{i:04d}.jpg"
    channels = [
        {
            "title": en,
            "title_he": he,
            "category": cat,
            "language": "he" if "i24" not in en else "en",
            "stream_url": f"/live/{i:02d}/index.m3u8",
            "is_live": True,
            "sort_order": i,
        }
        for i, (en, he, cat) in enumerate(CHANNELS, start=1)
    ]
    return {"content": items, "live_channels": channels}


if __name__ == "__main__":
    out = Path(__file__).resolve().parents[1] / "services/bayit/src/bayit/data/catalog.json"
    data = build()
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{out}: {len(data['content'])} items, {len(data['live_channels'])} channels")
