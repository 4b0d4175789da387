"""Fast, explainable directory search (issue 5, scope 5): ``search(session, SearchQuery(...))``."""

from resource_directory.search.engine import search
from resource_directory.search.query import SearchError, SearchQuery, resolve_language
from resource_directory.search.results import SearchPage, SearchResult
from resource_directory.search.schedule import OpenStatus, is_open_at, open_status

__all__ = [
    "OpenStatus",
    "SearchError",
    "SearchPage",
    "SearchQuery",
    "SearchResult",
    "is_open_at",
    "open_status",
    "resolve_language",
    "search",
]
