"""The ``postgres`` backend's declaration: questions, URI forms, and ``open`` (SQLAlchemy imported there)."""

from __future__ import annotations

from collections.abc import Callable

from memgpt.plugin import Backend, ConfigError, Question, RecordKind, Settings, Store, hookimpl, mask_uri

EXAMPLE_URI = "postgresql+pg8000://memgpt:memgpt@localhost:8888/memgpt"


def normalize_uri(uri: str) -> str:
    """A ``postgresql+pg8000://`` URI from what users type; a one-line ConfigError when it is unusable."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = uri.strip()
    if not text:
        raise ConfigError(f"postgres needs a connection string such as {EXAMPLE_URI}")
    _refuse_reserved_in_userinfo(text)
    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(
            f"malformed postgres connection string {mask_uri(text)!r} ({exc}); expected like {EXAMPLE_URI}"
        ) from None
    if url.get_backend_name() not in ("postgresql", "postgres"):
        raise ConfigError(f"{mask_uri(text)!r} is not a PostgreSQL URI; expected like {EXAMPLE_URI}")
    if "+" in url.drivername and not url.drivername.endswith("+pg8000"):
        raise ConfigError(f"postgres connects with pg8000; use postgresql+pg8000://... instead of {url.drivername}://...")
    if not url.host or not url.database:
        raise ConfigError(f"postgres connection string {mask_uri(text)!r} needs a host and a database name")
    return url.set(drivername="postgresql+pg8000").render_as_string(hide_password=False)


def _refuse_reserved_in_userinfo(text: str) -> None:
    """A password holding ``@``, ``/``, ``?`` or ``#`` unencoded splits the URI in the wrong place (and part of it
    would then show as the host): refuse it, showing none of it."""
    _, scheme_sep, rest = text.partition("://")
    if not scheme_sep or "@" not in rest:
        return
    userinfo = rest.rsplit("@", 1)[0]
    user, _, password = userinfo.partition(":")
    if any(ch in userinfo for ch in "@/?#") or (not password and ":" not in userinfo and "@" in user):
        raise ConfigError(
            "the user name or password in the postgres connection string holds a reserved character (@ / ? #) "
            "that is not percent-encoded; encode it (@ as %40, / as %2F, ? as %3F, # as %23, : as %3A) and try again"
        )


class PostgresBackend(Backend):
    """PostgreSQL with pgvector: every record kind, HNSW cosine indexes, one pooled engine per URI."""

    name = "postgres"
    label = "PostgreSQL + pgvector (SQLAlchemy, pg8000)"
    kinds = frozenset(RecordKind)
    questions = (
        Question(
            "uri",
            "Enter postgres connection string (e.g. postgresql+pg8000://{user}:{password}@{ip}:5432/{database}):",
            default=EXAMPLE_URI,
            env="MEMGPT_PGURI",
        ),
    )
    uri_help = "a SQLAlchemy URL: postgresql+pg8000://USER:PASSWORD@HOST:PORT/DB (MEMGPT_PGURI overrides it)"

    def settings_from_uri(self, uri: str) -> dict[str, str]:
        return {"uri": normalize_uri(uri or EXAMPLE_URI)}

    def describe(self, settings: Settings) -> str:
        return mask_uri(settings.get("uri", EXAMPLE_URI))

    def open(self, settings: Settings) -> Store:
        from memgpt_backend_postgres.store import PostgresStore

        return PostgresStore(normalize_uri(settings.get("uri", "")))


@hookimpl
def register_backends(register: Callable[[Backend], None]) -> None:
    register(PostgresBackend())
