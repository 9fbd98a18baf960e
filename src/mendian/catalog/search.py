"""Chinese product search that behaves the same on SQLite and PostgreSQL.

Chinese has no spaces, so a plain substring search for "蒙牛纯牛奶" misses "蒙牛 精选纯牛奶". We
segment with jieba instead: every product keeps a `search_document` (its name, subtitle, brand,
tags, category path and SKU codes, NFKC-normalised, lower-cased and cut into words with
`cut_for_search`, joined by spaces, followed by the unsegmented name) and a query matches when each
of its words occurs in that document. Plain `icontains` per word keeps it portable; a trigram or
full-text index can later sit on the same column without changing the contract.
"""

import logging
import threading
import unicodedata
import warnings

from django.db.models import Q

MAX_QUERY_TOKENS = 12

_jieba = None
_jieba_lock = threading.Lock()


def _segmenter():
    """jieba, loaded once on first use: building its dictionary takes about a second, too slow for
    every process start (management commands, test runs), so it is not done in `AppConfig.ready()`."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                with warnings.catch_warnings():
                    # jieba 0.42's regexes use escapes Python now warns about when compiling it.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    warnings.simplefilter("ignore", SyntaxWarning)
                    import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def normalize(text: str) -> str:
    """Full-width letters and digits to ASCII (ＭＬ -> ml), lower case, trimmed."""
    return unicodedata.normalize("NFKC", text or "").lower().strip()


def _is_word(token: str) -> bool:
    return any(char.isalnum() for char in token)


def _unique(tokens) -> list[str]:
    seen: dict[str, None] = {}
    for token in tokens:
        token = token.strip()
        if token and _is_word(token):
            seen.setdefault(token, None)
    return list(seen)


def tokenize(text: str) -> list[str]:
    """The words of a query, in order, without punctuation or whitespace: "蒙牛纯牛奶" -> ["蒙牛", "纯牛奶"]."""
    text = normalize(text)
    if not text:
        return []
    return _unique(_segmenter().cut(text))[:MAX_QUERY_TOKENS]


def segment_for_index(text: str) -> list[str]:
    """Words and their sub-words, as stored in documents: "纯牛奶" -> ["牛奶", "纯牛奶"]."""
    text = normalize(text)
    if not text:
        return []
    return _unique(_segmenter().cut_for_search(text))


def build_document(
    *, name: str, subtitle: str = "", brand: str = "", tags=(), category_names=(), sku_codes=()
) -> str:
    parts = [name, subtitle, brand, *tags, *category_names]
    words = _unique(word for part in parts for word in segment_for_index(part))
    codes = _unique(normalize(code) for code in sku_codes)
    # The whole normalised name last, so a query word that jieba cut differently in the query's
    # context than in the product's still matches as a plain substring.
    return " ".join([*words, *codes, normalize(name).replace(" ", "")])


def category_path_names(category, categories_by_id: dict | None = None) -> list[str]:
    """The category's name and each ancestor's, nearest first."""
    names = []
    current = category
    seen = set()
    while current is not None and current.pk not in seen:
        seen.add(current.pk)
        names.append(current.name)
        if current.parent_id is None:
            break
        current = categories_by_id.get(current.parent_id) if categories_by_id is not None else current.parent
    return names


def product_document(product, *, category_names=None, sku_codes=None) -> str:
    """The search document of a product. Pass `category_names`/`sku_codes` when computing many at once."""
    if category_names is None:
        category_names = category_path_names(product.category)
    if sku_codes is None:
        sku_codes = list(product.variants.values_list("sku_code", flat=True))
    return build_document(
        name=product.name,
        subtitle=product.subtitle,
        brand=product.brand,
        tags=product.tags or (),
        category_names=category_names,
        sku_codes=sku_codes,
    )


def document_filter(tokens: list[str], field: str = "search_document") -> Q:
    """Every token must occur in the document (AND)."""
    condition = Q()
    for token in tokens:
        condition &= Q(**{f"{field}__icontains": token})
    return condition
