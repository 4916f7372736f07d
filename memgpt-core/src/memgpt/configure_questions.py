"""What ``memgpt configure`` asks, and how answers become a configuration.

Interactive and non-interactive runs share one code path, :func:`run_configure`:
each question is answered by a command-line flag when one was given, else by
the :class:`Asker` — :class:`TerminalAsker` asks on the terminal,
:class:`DefaultsAsker` takes the default (``--defaults``). Defaults are the
current configuration's values, else the built-in ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from memgpt.config import STORAGE_ROLES, MemGPTConfig, StorageConfig
from memgpt.embeddings.installed import preferred_provider
from memgpt.environment import getenv
from memgpt.errors import ConfigError, MemGPTError
from memgpt.kinds import CONFIGURED_ROLES, RecordKind, StorageRole
from memgpt.names import validate_name
from memgpt.plugins import backends, embedding_providers, get_backend, get_embedding_provider, get_llm_provider, llm_providers
from memgpt.secrets import mask_uri
from memgpt.storage.backend import Backend, Question

CONTEXT_WINDOWS = {"gpt-4": 8192, "gpt-4o": 128000, "gpt-4-turbo": 128000, "gpt-3.5-turbo": 16385, "llama3.1": 8192}
"""Context windows of well-known models, the default answer when one of them is chosen."""


Check = Callable[[str], str | None]
"""Why an answer is not valid (one line), or ``None``."""


class Asker(Protocol):
    """Answers one question: returns the answer, given the default, the allowed choices and a check."""

    interactive: bool

    def ask(self, question: Question, default: str | None, choices: list[str] | None, check: Check | None = None) -> str: ...


class DefaultsAsker:
    """Takes every default without asking (``memgpt configure --defaults``)."""

    interactive = False

    def ask(self, question: Question, default: str | None, choices: list[str] | None, check: Check | None = None) -> str:
        if default is None:
            raise ConfigError(f"no default for {question.prompt!r}; pass it on the command line")
        return default


class TerminalAsker:
    """Asks on the terminal with questionary (``input``/``output`` are for tests)."""

    interactive = True

    def __init__(self, **prompt_kwargs: Any) -> None:
        self.prompt_kwargs = prompt_kwargs

    def ask(self, question: Question, default: str | None, choices: list[str] | None, check: Check | None = None) -> str:
        import questionary

        def validate(text: str) -> bool | str:  # questionary shows the reason and asks again
            problem = check(text.strip()) if check is not None else None
            return True if problem is None else problem

        if choices:
            prompt = questionary.select(
                question.prompt, choices=choices, default=default if default in choices else None, **self.prompt_kwargs
            )
        elif question.secret:
            prompt = questionary.password(question.prompt, default=default or "", validate=validate, **self.prompt_kwargs)
        else:
            prompt = questionary.text(question.prompt, default=default or "", validate=validate, **self.prompt_kwargs)
        answer = prompt.ask()
        if answer is None:
            raise ConfigError("configuration cancelled; nothing was saved")
        return str(answer).strip()


@dataclass
class Outcome:
    """The result of :func:`run_configure`."""

    config: MemGPTConfig
    warnings: list[str] = field(default_factory=list)


def _general_questions(current: MemGPTConfig, existing: bool) -> list[Question]:
    """The questions before storage: LLM, embeddings (from the installed providers), defaults."""

    def keep(attr: str, fallback: str) -> Callable[[Mapping[str, str]], str]:
        return lambda answers: str(getattr(current, attr)) if existing else fallback

    def llm_provider(answers: Mapping[str, str]) -> Any:
        return get_llm_provider(answers["model_endpoint_type"])

    def llm_provider_default(answers: Mapping[str, str]) -> str:
        installed = llm_providers()
        return current.model_endpoint_type if existing and current.model_endpoint_type in installed else next(iter(installed))

    def llm_endpoint_default(answers: Mapping[str, str]) -> str:
        if existing and answers["model_endpoint_type"] == current.model_endpoint_type:
            return current.model_endpoint
        return llm_provider(answers).default_endpoint

    def provider(answers: Mapping[str, str]) -> Any:
        return get_embedding_provider(answers["embedding_endpoint_type"])

    def same_provider(answers: Mapping[str, str]) -> bool:
        return existing and answers["embedding_endpoint_type"] == current.embedding_endpoint_type

    def embedding_endpoint_default(answers: Mapping[str, str]) -> str:
        return current.embedding_endpoint if same_provider(answers) else (provider(answers).default_endpoint or "")

    def embedding_model_default(answers: Mapping[str, str]) -> str:
        return current.embedding_model if same_provider(answers) else provider(answers).default_model

    def embedding_model_choices(answers: Mapping[str, str]) -> Sequence[str] | None:
        chosen = provider(answers)
        return None if chosen.open_models else list(chosen.models)

    def embedding_dim_default(answers: Mapping[str, str]) -> str:
        return str(current.embedding_dim) if same_provider(answers) else ""

    def llm_model_default(answers: Mapping[str, str]) -> str:
        if existing and answers["model_endpoint_type"] == current.model_endpoint_type:
            return current.model
        return llm_provider(answers).default_model

    def dimension_problem(value: str, answers: Mapping[str, str]) -> str | None:
        if not value.strip():
            return f"embedding model {answers.get('embedding_model', '')!r} needs a dimension (the length of its vectors)"
        problem = _positive_problem(value, "the embedding dimension")
        if problem:
            return problem
        known = provider(answers).models.get(answers.get("embedding_model", ""))
        if known is not None and int(value) != known:
            return f"embedding model {answers['embedding_model']!r} makes {known}-d vectors, not {value}"
        return None

    return [
        Question(
            "model_endpoint_type", "Select LLM inference provider:", llm_provider_default, lambda answers: list(llm_providers())
        ),
        Question("model_endpoint", "Override default endpoint:", llm_endpoint_default, validate=_url_problem),
        Question(
            "model",
            "Select default model (recommended: gpt-4):",
            llm_model_default,
            validate=lambda value, answers: None if value.strip() else "give the name of the model the server serves",
        ),
        Question(
            "context_window",
            "Enter the model's context window (tokens):",
            lambda answers: str(current.context_window) if existing else str(CONTEXT_WINDOWS.get(answers.get("model", ""), 8192)),
            validate=lambda value, answers: _positive_problem(value, "the context window"),
        ),
        Question(
            "embedding_endpoint_type",
            "Select embedding provider:",
            keep("embedding_endpoint_type", preferred_provider().name),
            lambda answers: list(embedding_providers()),
        ),
        Question(
            "embedding_endpoint",
            "Override default embedding endpoint:",
            embedding_endpoint_default,
            when=lambda answers: provider(answers).default_endpoint is not None,
            validate=_url_problem,
        ),
        Question("embedding_model", "Select embedding model:", embedding_model_default, embedding_model_choices),
        Question(
            "embedding_dim",
            "Enter the embedding model's dimension:",
            embedding_dim_default,
            when=lambda answers: answers.get("embedding_model") not in provider(answers).models,
            validate=dimension_problem,
        ),
        Question(
            "embedding_chunk_size",
            "Enter the chunk size for loaded documents (tokens):",
            keep("embedding_chunk_size", "300"),
            validate=lambda value, answers: _positive_problem(value, "the chunk size"),
        ),
        Question("preset", "Select default preset:", keep("preset", "memgpt_chat")),
        Question("persona", "Select default persona:", keep("persona", "sam_pov")),
        Question("human", "Select default human:", keep("human", "cs_phd")),
    ]


def _positive_problem(value: str, what: str) -> str | None:
    try:
        number = int(str(value).strip())
    except ValueError:
        return f"{what} must be a whole number, got {value!r}"
    return None if number >= 1 else f"{what} must be at least 1, got {number}"


def _url_problem(value: str, answers: Mapping[str, str]) -> str | None:
    from urllib.parse import urlsplit

    if not value.strip():
        return None
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return f"{value!r} is not a URL; expected http(s)://host[:port][/path]"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{value!r} is not a URL; expected http(s)://host[:port][/path]"
    return None


def _positive_int(value: Any, what: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a whole number, got {value!r}") from None
    if number < 1:
        raise ConfigError(f"{what} must be at least 1, got {number}")
    return number


def storage_choices(kind: RecordKind) -> list[str]:
    """Installed backends that can store ``kind``, ``local`` first."""
    return [name for name, info in backends().items() if kind in info.item.kinds]


def _question_entry(question: Question) -> dict[str, Any]:
    """One question as data; a default or choices that depend on earlier answers are given for none."""

    def safely(read: Callable[[], Any]) -> Any:
        try:
            return read()
        except Exception:  # a default computed from answers that are not there
            return None

    return {
        "key": question.key,
        "prompt": question.prompt,
        "default": None if question.secret else safely(lambda: mask_uri(question.default_for({}) or "") or None),
        "choices": safely(lambda: question.choices_for({})),
        "secret": question.secret,
        "env": question.env,
        "conditional": question.when is not None,
        "help": question.help,
    }


def backend_entries() -> list[dict[str, Any]]:
    """Every installed backend as data: name, distribution, record kinds, the roles it can serve, its URI forms and questions."""
    entries = []
    for name, info in backends().items():
        backend = info.item
        entries.append(
            {
                "name": name,
                "label": backend.label,
                "distribution": info.distribution,
                "version": info.version,
                "kinds": sorted(k.value for k in backend.kinds),
                "roles": [role.value for role in CONFIGURED_ROLES if role.kind in backend.kinds],
                "uri": backend.uri_help,
                "questions": [_question_entry(q) for q in backend.questions],
            }
        )
    return entries


def configure_choices() -> dict[str, Any]:
    """Everything ``memgpt configure`` can choose from, as data (``memgpt configure --choices``).

    ``storage`` maps each role to the installed backends that can serve it;
    ``backends``, ``embedding_providers`` and ``llm_providers`` describe each
    choice (URI forms, questions, models, where keys are read from).
    """
    preferred = preferred_provider().name
    return {
        "storage": {role.value: storage_choices(role.kind) for role in CONFIGURED_ROLES},
        "backends": backend_entries(),
        "embedding_providers": [
            {
                "name": name,
                "label": info.item.label,
                "distribution": info.distribution,
                "version": info.version,
                "models": dict(info.item.models),
                "default_model": info.item.default_model,
                "default_endpoint": info.item.default_endpoint,
                "open_models": info.item.open_models,
                "key_variables": list(info.item.key_variables),
                "default": name == preferred,
            }
            for name, info in embedding_providers().items()
        ],
        "llm_providers": [
            {
                "name": name,
                "label": info.item.label,
                "distribution": info.distribution,
                "version": info.version,
                "default_endpoint": info.item.default_endpoint,
                "default_model": info.item.default_model,
                "key_variables": list(info.item.key_variables),
            }
            for name, info in llm_providers().items()
        ],
    }


def check_storage_backend(role: str, name: str) -> Backend:
    """The installed backend ``name``, if it can serve ``role``; a one-line error otherwise."""
    backend = get_backend(name)
    kind = StorageRole(role).kind
    if kind not in backend.kinds:
        raise ConfigError(f"backend {name!r} cannot store {kind.label}; choose one of: {', '.join(storage_choices(kind))}")
    return backend


def _answer(question: Question, answers: dict[str, str], flags: Mapping[str, Any], asker: Asker) -> str | None:
    if not question.applies(answers):
        return None
    choices = question.choices_for(answers)
    if flags.get(question.key) is not None:
        value = str(flags[question.key])
    else:
        value = asker.ask(question, question.default_for(answers), choices, lambda text: question.problem(text, answers))
    if choices is not None and value not in choices:
        raise ConfigError(f"{value!r} is not a valid answer to {question.prompt!r}; choose one of: {', '.join(choices)}")
    problem = question.problem(value, answers)
    if problem is not None:
        flag = "--" + question.key.replace("_", "-")
        raise ConfigError(f"{problem} ({flag}); nothing was saved")
    return value


def _storage_settings(role: str, backend: Backend, previous: StorageConfig, uri: str | None, asker: Asker) -> dict[str, str]:
    if uri is not None:
        return backend.settings_from_uri(uri)
    answers: dict[str, str] = {}
    for question in backend.questions:
        if not question.applies(answers):
            continue
        saved = previous.settings.get(question.key) if previous.type == backend.name else None
        default = saved if saved is not None else question.default_for(answers)
        value = asker.ask(question, default, question.choices_for(answers))
        choices = question.choices_for(answers)
        if choices is not None and value not in choices:
            raise ConfigError(f"{value!r} is not a valid answer to {question.prompt!r}; choose one of: {', '.join(choices)}")
        answers[question.key] = value
    return answers


def validate_flags(flags: Mapping[str, Any], current: MemGPTConfig) -> dict[str, Backend]:
    """Check storage flags before asking anything; returns the backends they name."""
    chosen: dict[str, Backend] = {}
    for role in STORAGE_ROLES:
        name = flags.get(f"{role}_storage")
        if name is not None:
            chosen[role] = check_storage_backend(role, name)
        uri = flags.get(f"{role}_uri")
        if uri is not None:
            backend = chosen.get(role) or check_storage_backend(role, current.storage(role).type)
            backend.settings_from_uri(uri)  # raises ConfigError for a malformed URI
    return chosen


def run_configure(current: MemGPTConfig, existing: bool, flags: Mapping[str, Any], asker: Asker) -> Outcome:
    """Ask every question (flags answer first) and return the new configuration, unsaved."""
    validate_flags(flags, current)
    answers: dict[str, str] = {}
    for question in _general_questions(current, existing):
        value = _answer(question, answers, flags, asker)
        if value is not None:
            answers[question.key] = value

    user_id = current.anon_clientid if flags.get("user_id") is None else validate_name(flags["user_id"], "user id")
    new = MemGPTConfig(path=current.path, _extra=current._extra, anon_clientid=user_id)
    for key, value in answers.items():
        if key not in ("embedding_dim", "embedding_chunk_size", "context_window"):
            setattr(new, key, value)
    new.context_window = _positive_int(answers["context_window"], "context window")
    new.embedding_chunk_size = _positive_int(answers["embedding_chunk_size"], "embedding chunk size")
    chosen = get_embedding_provider(new.embedding_endpoint_type)
    if chosen.default_endpoint is None:
        new.embedding_endpoint = ""
    given_dim = flags.get("embedding_dim") or answers.get("embedding_dim")
    new.embedding_dim = chosen.dimension(
        new.embedding_model, _positive_int(given_dim, "embedding dimension") if given_dim else None
    )
    if given_dim and int(given_dim) != new.embedding_dim:
        raise ConfigError(f"embedding model {new.embedding_model!r} makes {new.embedding_dim}-d vectors, not {given_dim}")

    outcome = Outcome(new)
    for role in STORAGE_ROLES:
        previous = current.storage(role)
        kind = StorageRole(role).kind
        choices = storage_choices(kind)
        default = previous.type if previous.type in choices else "local"
        question = Question(f"{role}_storage", f"Select storage backend for {role} data:", default, choices)
        name = _answer(question, {}, flags, asker)
        assert name is not None
        backend = check_storage_backend(role, name)
        settings = _storage_settings(role, backend, previous, flags.get(f"{role}_uri"), asker)
        setattr(new, f"{role}_storage", StorageConfig(backend.name, settings))
        for q in backend.questions:
            if q.env and getenv(q.env):
                outcome.warnings.append(
                    f"{q.env} is set: it overrides the saved {q.key!r} of {backend.name!r} whenever memgpt opens it"
                )
        if existing and previous.type != backend.name:
            outcome.warnings.append(
                f"{role} storage changes from {previous.type!r} to {backend.name!r}: what is stored in "
                f"{previous.type!r} stays there and is not visible through {backend.name!r} "
                f"(to move it, keep the old setting and run: memgpt migrate --to-{role} {backend.name} --switch)"
            )
    return outcome


def key_notes(config: MemGPTConfig) -> list[str]:
    """Where the configured LLM and embedding provider read their API keys from, and whether one is set now."""

    def where(variables: Sequence[str]) -> str:
        found = next((name for name in variables if getenv(name)), None)
        state = f"{found} is set" if found else "none is set now"
        return f"read from {' or '.join(variables)} ({state}; never saved in the config file)"

    notes = []
    try:
        llm = get_llm_provider(config.model_endpoint_type)
    except MemGPTError:
        llm = None
    if llm is not None and llm.key_variables:
        notes.append(f"LLM API key ({llm.name}): {where(llm.key_variables)}")
    try:
        provider = get_embedding_provider(config.embedding_endpoint_type)
    except MemGPTError:
        return notes
    if provider.key_variables:
        notes.append(f"embedding API key ({provider.name}): {where(provider.key_variables)}")
    return notes


def describe_storage(config: MemGPTConfig, role: str) -> str:
    """``backend (location)`` for a summary line, secrets masked."""
    storage = config.storage(role)
    try:
        backend = get_backend(storage.type)
    except MemGPTError:
        return f"{storage.type} (not installed)"
    return f"{storage.type} ({backend.describe(storage.settings)})"
