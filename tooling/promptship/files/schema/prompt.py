"""``prompts/**.yaml``: one prompt, named by its path under ``prompts/`` without the extension."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from ._base import JsonSchema, Model

#: Names of prompt variables as they appear in templates.
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
#: Langfuse label syntax (lowercase, digits, ``_-.``, at most 36 characters).
LABEL = r"^[a-z0-9_\-.]{1,36}$"

VariableType = Literal["string", "integer", "number", "boolean", "list", "object", "image_url"]


#: Python types a value of each declared variable type may have (numbers render as text, so a
#: string variable takes them too).
_ACCEPTED_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str, int, float),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "list": (list,),
    "object": (dict,),
    "image_url": (str,),
}


def json_type_name(value: Any) -> str:
    """``value``'s type as a JSON/YAML reader names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    for name, kind in (("integer", int), ("number", float), ("string", str), ("list", list), ("object", dict)):
        if isinstance(value, kind):
            return name
    return type(value).__name__


class Variable(Model):
    """A declared template variable."""

    type: VariableType = "string"
    required: bool = Field(default=True, description="Must every caller and dataset item supply it?")
    default: Any = Field(default=None, description="Value used when the variable is not supplied.")
    description: str | None = None

    def type_error(self, value: Any) -> str | None:
        """Why ``value`` does not fit the declared type (``None`` when it fits)."""
        if value is None and not self.required:
            return None
        accepted = _ACCEPTED_TYPES[self.type]
        if isinstance(value, accepted) and (self.type == "boolean" or not isinstance(value, bool)):
            return None
        return f"expected {self.type}, got {json_type_name(value)}"

    @model_validator(mode="after")
    def _default_means_optional(self) -> Variable:
        if self.default is not None and self.required:
            # A default only makes sense for an optional variable; say so instead of guessing.
            raise ValueError("a variable with a default must set `required: false`")
        return self


class Message(Model):
    """One chat message; ``content`` is a Jinja2 template."""

    role: Literal["system", "user", "assistant", "developer"]
    content: str = Field(description="Jinja2 template of the message text.")


class Placeholder(Model):
    """A slot filled at call time with a list of chat messages (Langfuse's chat-message placeholder),
    e.g. the conversation so far. Its messages are data: they are inserted as given, never rendered."""

    type: Literal["placeholder"] = Field(description="Marks the entry as a placeholder.")
    name: Annotated[str, Field(pattern=IDENTIFIER)] = Field(
        description="A declared `type: list` variable whose value is the messages ({role, content} each)."
    )


#: Tags of the two kinds of ``messages`` entries; pydantic puts them in error locations, which
#: ``schema/errors.py`` removes so a diagnostic names the file's own path (``messages.0.content``).
MESSAGE_TAGS = frozenset({"message", "placeholder"})


def _message_kind(entry: Any) -> str:
    """``placeholder`` for an entry that says ``type:`` (Langfuse's shape), else ``message``."""
    kind = entry.get("type") if isinstance(entry, dict) else getattr(entry, "type", None)
    return "message" if kind is None else "placeholder"


ChatEntry = Annotated[
    Annotated[Message, Tag("message")] | Annotated[Placeholder, Tag("placeholder")],
    Discriminator(_message_kind),
]


class JsonSchemaFormat(Model):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    schema_: JsonSchema = Field(alias="schema", description="A JSON Schema the reply must follow.")
    strict: bool = True


class ResponseFormat(Model):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_iff_json_schema(self) -> ResponseFormat:
        if (self.type == "json_schema") != (self.json_schema is not None):
            raise ValueError("`json_schema` is required exactly when `type: json_schema`")
        return self


class Params(Model):
    """Call parameters passed to the model."""

    temperature: Annotated[float, Field(ge=0, le=2)] | None = Field(default=None, description="0 = deterministic.")
    top_p: Annotated[float, Field(gt=0, le=1)] | None = Field(default=None, description="Nucleus sampling.")
    max_tokens: Annotated[int, Field(gt=0)] | None = Field(default=None, description="Longest reply in tokens.")
    stop: list[str] | None = Field(default=None, description="Sequences that end the reply.")
    seed: int | None = Field(default=None, description="Sampling seed, where the vendor supports it.")
    response_format: ResponseFormat | None = Field(default=None, description="Plain text, any JSON, or a JSON Schema.")


class Traffic(Model):
    calls_per_day: Annotated[float, Field(ge=0)] = Field(
        description="Expected production calls per day; used to project the monthly cost of a change."
    )


class ReleaseRule(Model):
    """Git refs matching ``ref`` (a glob such as ``main`` or ``release/*``) publish ``labels``."""

    ref: str
    labels: list[Annotated[str, Field(pattern=LABEL)]]


class PromptRelease(Model):
    """Per-prompt override of ``policies/release.yaml``."""

    publish: bool = Field(default=True, description="false keeps this prompt out of Langfuse.")
    rules: list[ReleaseRule] | None = Field(default=None, description="Replaces the policy's rules.")


class Prompt(Model):
    """A prompt file. Exactly one of ``messages`` (type chat) or ``template`` (type text)."""

    schema_ref: str | None = Field(default=None, alias="$schema", exclude=True)
    type: Literal["chat", "text"] = Field(description="chat: `messages`; text: one `template`.")
    description: str | None = Field(default=None, description="What the prompt is for (shown in Langfuse).")
    owners: list[str] = Field(default_factory=list, description="Teams or people who review changes.")
    tags: list[str] = Field(default_factory=list, description="Free labels; synced to Langfuse tags.")
    model: str = Field(description="An alias from policies/routing.yaml.")
    params: Params = Field(default_factory=Params, description="Call parameters sent with every request.")
    variables: dict[Annotated[str, Field(pattern=IDENTIFIER)], Variable] = Field(
        default_factory=dict, description="Every variable the templates use, by name."
    )
    messages: list[ChatEntry] | None = Field(default=None, description="Chat messages and placeholders (type chat).")
    template: str | None = Field(default=None, description="The Jinja2 template (type text).")
    traffic: Traffic | None = Field(default=None, description="Expected production volume.")
    release: PromptRelease | None = Field(default=None, description="Per-prompt release override.")
    langfuse_config: dict[str, Any] | None = Field(
        default=None,
        description=(
            "Published verbatim as the Langfuse version's `config` instead of promptship's "
            "{model, params, variables} (written by `promptship import langfuse`, so imported versions keep "
            "serving unchanged). While it is set, changes to model, params and variables are not published; "
            "remove it to let promptship manage the config (the next sync then creates a version)."
        ),
    )

    @model_validator(mode="after")
    def _body_matches_type(self) -> Prompt:
        if self.type == "chat":
            if not self.messages:
                raise ValueError("a chat prompt needs a non-empty `messages` list")
            if self.template is not None:
                raise ValueError("a chat prompt has `messages`, not `template`")
        else:
            if self.template is None:
                raise ValueError("a text prompt needs `template`")
            if self.messages is not None:
                raise ValueError("a text prompt has `template`, not `messages`")
        return self

    def templates(self) -> list[tuple[str, str]]:
        """(location, template source) for every template in the prompt, in file order."""
        if self.messages is not None:
            return [(f"messages.{i}.content", m.content) for i, m in enumerate(self.messages) if isinstance(m, Message)]
        return [("template", self.template or "")]

    def placeholders(self) -> list[tuple[int, Placeholder]]:
        """(index in ``messages``, placeholder) for every placeholder of a chat prompt."""
        return [(i, m) for i, m in enumerate(self.messages or []) if isinstance(m, Placeholder)]
