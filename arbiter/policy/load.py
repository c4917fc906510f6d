"""Load a policy file and report every problem with its file, line and what is wrong.

A policy that fails validation is never half-loaded: `load_policy` either
returns a complete `Policy` or raises `PolicyError` listing all the problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from arbiter.model import ACTIONS, SIGNALS
from arbiter.policy.enforcement import Enforcement, FloodGuard, Sampling, Strikes
from arbiter.policy.model import (
    ENTITY_KINDS,
    GROUND_TYPES,
    BenignBank,
    Entity,
    Grounds,
    Policy,
    Rule,
)
from arbiter.policy.rules import RuleSyntaxError, entity_references, parse_rule
from arbiter.report import dsa

# The DSA category of grounds that cite only the terms: "other violation of the terms".
DEFAULT_CATEGORY = "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a policy file, at a line."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class PolicyError(ValueError):
    """A policy file that cannot be used; `problems` says every reason why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def load_policy(path: str | Path) -> Policy:
    """Read and validate the policy at `path`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError([Problem(str(path), 0, f"cannot read the file: {error}")]) from None
    return parse_policy(text, str(path))


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Validate policy YAML `text`; `source` names it in error messages."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        problem = getattr(error, "problem", None) or str(error)
        raise PolicyError([Problem(source, line, f"not valid YAML: {problem}")]) from None
    checker = _Checker(source)
    policy = checker.policy(node, text)
    if checker.problems or policy is None:
        raise PolicyError(sorted(checker.problems, key=lambda p: p.line))
    return policy


class _Checker:
    """Walks the YAML node tree, collecting problems instead of stopping at the first."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[Problem] = []
        self.rule_samples: dict[str, float] = {}

    def problem(self, node: yaml.Node | None, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.problems.append(Problem(self.source, line, message))

    def policy(self, root: yaml.Node | None, text: str) -> Policy | None:
        if not isinstance(root, yaml.MappingNode):
            self.problem(root, "a policy must be a mapping with id, version, entities and rules")
            return None
        fields = self.mapping(
            root,
            "policy",
            required=("id", "version", "entities", "rules"),
            optional=("title", "grounds", "description", "enforcement", "benign"),
        )
        policy_id = self.string(fields.get("id"), "id")
        version = self.integer(fields.get("version"), "version")
        entities = self.entities(fields.get("entities"))
        entity_ids = {e.id for e in entities}
        rules = self.rules(fields.get("rules"), entity_ids)
        grounds = self.grounds(fields.get("grounds"), root)
        enforcement = self.enforcement(fields.get("enforcement"))
        benign = self.benign(fields.get("benign"))
        title = self.string(fields.get("title"), "title", required=False) or policy_id
        if self.problems:
            return None
        return Policy(
            id=policy_id,
            version=version,
            title=title,
            grounds=grounds,
            entities=tuple(entities),
            rules=tuple(rules),
            source=self.source,
            text=text,
            enforcement=enforcement,
            benign=tuple(benign),
        )

    def mapping(
        self, node: yaml.Node, what: str, required: tuple[str, ...], optional: tuple[str, ...]
    ) -> dict[str, yaml.Node]:
        fields: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in fields:
                self.problem(key_node, f"{what}: '{key}' is given twice")
            elif key not in required and key not in optional:
                allowed = ", ".join(required + optional)
                self.problem(key_node, f"{what}: unknown field '{key}' (allowed: {allowed})")
            fields[key] = value_node
        for key in required:
            if key not in fields:
                self.problem(node, f"{what}: '{key}' is missing")
        return fields

    def string(self, node: yaml.Node | None, what: str, required: bool = True) -> str:
        if node is None:
            return ""
        if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":null"):
            self.problem(node, f"{what} must be a string")
            return ""
        value = str(node.value).strip()
        if required and not value:
            self.problem(node, f"{what} must not be empty")
        return value

    def integer(self, node: yaml.Node | None, what: str) -> int:
        if node is None:
            return 0
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":int"):
            value = int(node.value)
            if value >= 1:
                return value
        self.problem(node, f"{what} must be a whole number of at least 1")
        return 0

    def strings(self, node: yaml.Node | None, what: str) -> tuple[str, ...]:
        if node is None:
            return ()
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, f"{what} must be a list of strings")
            return ()
        values = []
        for item in node.value:
            value = self.string(item, f"each of {what}")
            if value:
                values.append(value)
        return tuple(values)

    def items(self, node: yaml.Node | None, plural: str, singular: str) -> list[yaml.MappingNode]:
        """The mappings of a non-empty list, each other item reported."""
        if node is None:
            return []
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.problem(node, f"{plural} must be a non-empty list")
            return []
        items = [item for item in node.value if isinstance(item, yaml.MappingNode)]
        for item in node.value:
            if not isinstance(item, yaml.MappingNode):
                self.problem(item, f"each {singular} must be a mapping")
        return items

    def unique_id(self, fields: dict[str, yaml.Node], what: str, seen: dict[str, int]) -> str:
        """The item's id, reported if an earlier item has it too."""
        item_id = self.string(fields.get("id"), f"{what} id")
        if item_id in seen:
            self.problem(
                fields["id"],
                f"duplicate {what} id '{item_id}' (first defined on line {seen[item_id]})",
            )
        elif item_id:
            seen[item_id] = fields["id"].start_mark.line + 1
        return item_id

    def entities(self, node: yaml.Node | None) -> list[Entity]:
        entities: list[Entity] = []
        seen: dict[str, int] = {}
        for item in self.items(node, "entities", "entity"):
            fields = self.mapping(
                item,
                "entity",
                required=("id", "names"),
                optional=(
                    "kind",
                    "aliases",
                    "context_terms",
                    "hashtags",
                    "reference_media",
                    "reference_hashes",
                    "description",
                ),
            )
            entity_id = self.unique_id(fields, "entity", seen)
            kind = self.string(fields.get("kind"), "kind", required=False) or "person"
            if kind not in ENTITY_KINDS:
                self.problem(
                    fields.get("kind"),
                    f"entity '{entity_id}': unknown kind '{kind}' "
                    f"(use one of {', '.join(ENTITY_KINDS)})",
                )
            names = self.strings(fields.get("names"), f"entity '{entity_id}' names")
            if "names" in fields and not names:
                self.problem(fields["names"], f"entity '{entity_id}' has no names")
            hashtags = self.strings(fields.get("hashtags"), f"entity '{entity_id}' hashtags")
            for tag_node, tag in zip(
                getattr(fields.get("hashtags"), "value", []), hashtags, strict=False
            ):
                if not tag.startswith("#") or len(tag) < 2:
                    self.problem(tag_node, f"hashtag '{tag}' must start with #")
            entities.append(
                Entity(
                    id=entity_id,
                    kind=kind,
                    names=names,
                    aliases=self.strings(fields.get("aliases"), f"entity '{entity_id}' aliases"),
                    context_terms=self.strings(
                        fields.get("context_terms"), f"entity '{entity_id}' context_terms"
                    ),
                    hashtags=hashtags,
                    reference_media=self.strings(fields.get("reference_media"), "reference_media"),
                    reference_hashes=self.strings(
                        fields.get("reference_hashes"), "reference_hashes"
                    ),
                )
            )
        return entities

    def rules(self, node: yaml.Node | None, entity_ids: set[str]) -> list[Rule]:
        rules: list[Rule] = []
        seen: dict[str, int] = {}
        for item in self.items(node, "rules", "rule"):
            fields = self.mapping(
                item,
                "rule",
                required=("id", "when", "action"),
                optional=("territorial_scope", "description", "review_sample"),
            )
            rule_id = self.unique_id(fields, "rule", seen)
            if "review_sample" in fields:
                self.rule_samples[rule_id] = self.number(
                    fields["review_sample"], f"rule '{rule_id}': review_sample", 0.0, 1.0
                )
            action = self.string(fields.get("action"), "action")
            if action and action not in ACTIONS:
                self.problem(
                    fields["action"],
                    f"rule '{rule_id}': unknown action '{action}' "
                    f"(use one of {', '.join(ACTIONS)})",
                )
            when = self.string(fields.get("when"), "when")
            if when:
                self.condition(fields["when"], rule_id, when, entity_ids)
            scope = self.strings(fields.get("territorial_scope"), "territorial_scope")
            for code_node, code in zip(
                getattr(fields.get("territorial_scope"), "value", []), scope, strict=False
            ):
                if len(code) != 2 or not code.isalpha() or not code.isupper():
                    self.problem(
                        code_node, f"territorial_scope: '{code}' is not a two-letter country code"
                    )
            rules.append(
                Rule(
                    id=rule_id,
                    when=when,
                    action=action,
                    territorial_scope=scope,
                    line=item.start_mark.line + 1,
                )
            )
        return rules

    def condition(self, node: yaml.Node, rule_id: str, when: str, entity_ids: set[str]) -> None:
        try:
            parse_rule(when)
        except RuleSyntaxError as error:
            self.problem(node, f"rule '{rule_id}': the CEL condition does not compile: {error}")
            return
        for call in entity_references(when):
            if call.entity is None:
                self.problem(
                    node,
                    f"rule '{rule_id}': {call.function}() needs an entity id as a quoted string",
                )
            elif call.entity not in entity_ids:
                known = ", ".join(sorted(entity_ids)) or "none"
                self.problem(
                    node,
                    f"rule '{rule_id}': unknown entity '{call.entity}' in "
                    f"{call.function}() (entities: {known})",
                )
            if call.signal is not None and call.signal not in SIGNALS:
                self.problem(
                    node,
                    f"rule '{rule_id}': unknown signal '{call.signal}' "
                    f"(use one of {', '.join(SIGNALS)})",
                )

    def grounds(self, node: yaml.Node | None, root: yaml.Node) -> Grounds:
        if node is None:
            return Grounds(type="incompatible_content", category=DEFAULT_CATEGORY)
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, "grounds must be a mapping")
            return Grounds(type="incompatible_content", category=DEFAULT_CATEGORY)
        fields = self.mapping(
            node,
            "grounds",
            required=("type",),
            optional=("terms", "legal_ground", "category", "keywords", "reference_url", "illegal"),
        )
        kind = self.string(fields.get("type"), "grounds type")
        if kind and kind not in GROUND_TYPES:
            self.problem(
                fields["type"],
                f"grounds: unknown type '{kind}' (use one of {', '.join(GROUND_TYPES)})",
            )
        terms = self.string(fields.get("terms"), "terms", required=False)
        legal = self.string(fields.get("legal_ground"), "legal_ground", required=False)
        if kind == "illegal_content" and not legal:
            self.problem(node, "grounds: illegal_content needs a legal_ground")
        if kind == "incompatible_content" and not terms:
            self.problem(node, "grounds: incompatible_content needs the terms it cites")
        category = self.category(fields.get("category"))
        if not category and kind == "incompatible_content":
            category = DEFAULT_CATEGORY
        # Reported once the legal ground is given, so that a missing legal ground stays
        # a single problem.
        if not category and kind == "illegal_content" and legal and "category" not in fields:
            self.problem(
                node,
                "grounds: illegal_content needs a category "
                "(a DSA STATEMENT_CATEGORY_* key or its short form)",
            )
        illegal = self.boolean(fields.get("illegal"), "grounds: illegal")
        if illegal is not None and kind == "illegal_content":
            self.problem(
                fields["illegal"],
                "grounds: illegal is for incompatible_content (illegal_content is illegal already)",
            )
        return Grounds(
            type=kind,
            terms=terms,
            legal_ground=legal,
            category=category,
            keywords=self.keywords(fields.get("keywords")),
            reference_url=self.url(fields.get("reference_url")),
            illegal=illegal,
        )

    def category(self, node: yaml.Node | None) -> str:
        value = self.string(node, "grounds category")
        if not value:
            return ""
        key = dsa.category_key(value)
        if key is None:
            short = ", ".join(dsa.short_form(c) for c in dsa.CATEGORIES)
            self.problem(
                node,
                f"grounds: unknown category '{value}' (use one of {short}, "
                "or the full STATEMENT_CATEGORY_* key)",
            )
            return ""
        return key

    def keywords(self, node: yaml.Node | None) -> tuple[str, ...]:
        keys: list[str] = []
        values = self.strings(node, "grounds keywords")
        for item, value in zip(getattr(node, "value", []), values, strict=False):
            key = dsa.keyword_key(value)
            if key is None:
                self.problem(
                    item,
                    f"grounds: unknown keyword '{value}' (use a DSA KEYWORD_* key "
                    "or its short form, e.g. terrorist_content)",
                )
            elif key not in keys:
                keys.append(key)
        return tuple(keys)

    def url(self, node: yaml.Node | None) -> str:
        value = self.string(node, "grounds reference_url")
        if not value:
            return ""
        try:
            parts = urlsplit(value)
        except ValueError:  # e.g. an unclosed [ in the host
            parts = urlsplit("")
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or any(c.isspace() for c in value)
        ):
            self.problem(node, f"grounds: reference_url '{value}' is not an http or https URL")
            return ""
        limit = dsa.MAX_LENGTHS["decision_ground_reference_url"]
        if len(value) > limit:
            self.problem(node, f"grounds: reference_url is longer than {limit} characters")
            return ""
        return value

    def enforcement(self, node: yaml.Node | None) -> Enforcement:
        """Strikes and review sampling; both optional, with the defaults of Enforcement."""
        sampling = Sampling(rules=dict(self.rule_samples))
        if node is None:
            return Enforcement(sampling=sampling)
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, "enforcement must be a mapping (strikes, review_sample)")
            return Enforcement(sampling=sampling)
        fields = self.mapping(node, "enforcement", (), ("strikes", "review_sample", "flood_guard"))
        if "review_sample" in fields:
            rate = self.number(fields["review_sample"], "enforcement: review_sample", 0.0, 1.0)
            sampling = Sampling(rate=rate, rules=sampling.rules)
        return Enforcement(
            strikes=self.strikes(fields.get("strikes")),
            sampling=sampling,
            flood_guard=self.flood_guard(fields.get("flood_guard")),
        )

    def flood_guard(self, node: yaml.Node | None) -> FloodGuard:
        default = FloodGuard()
        if node is None:
            return default
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, "flood_guard must be a mapping (window_minutes, max_posts, factor)")
            return default
        fields = self.mapping(node, "flood_guard", (), ("window_minutes", "max_posts", "factor"))
        values: dict[str, float] = {}
        for name, low, high, whole in (
            ("window_minutes", 1, 10080, True),
            ("max_posts", 1, 10_000_000, True),
            ("factor", 1, 1000, False),
        ):
            if name in fields:
                values[name] = self.number(fields[name], f"flood_guard: {name}", low, high, whole)
        return FloodGuard(
            window_minutes=int(values.get("window_minutes", default.window_minutes)),
            max_posts=int(values.get("max_posts", default.max_posts)),
            factor=values.get("factor", default.factor),
        )

    def benign(self, node: yaml.Node | None) -> list[BenignBank]:
        """Banks of known-benign media; each needs reference_media or reference_hashes."""
        banks: list[BenignBank] = []
        if node is None:
            return banks
        seen: dict[str, int] = {}
        for item in self.items(node, "benign", "benign bank"):
            fields = self.mapping(
                item,
                "benign bank",
                required=("id",),
                optional=("reference_media", "reference_hashes", "description"),
            )
            bank_id = self.unique_id(fields, "benign bank", seen)
            media = self.strings(fields.get("reference_media"), "reference_media")
            hashes = self.strings(fields.get("reference_hashes"), "reference_hashes")
            if not media and not hashes:
                self.problem(
                    item, f"benign bank '{bank_id}' needs reference_media or reference_hashes"
                )
            banks.append(BenignBank(bank_id, media, hashes))
        return banks

    def strikes(self, node: yaml.Node | None) -> Strikes:
        default = Strikes()
        if node is None:
            return default
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, "strikes must be a mapping")
            return default
        names = ("actions", "expire_days", "suspend_after", "suspend_days")
        fields = self.mapping(node, "strikes", (), names)
        actions = self.strings(fields.get("actions"), "strikes: actions") or default.actions
        for action_node, action in zip(
            getattr(fields.get("actions"), "value", []), actions, strict=False
        ):
            if action not in ("remove", "restrict", "label"):
                self.problem(
                    action_node,
                    f"strikes: '{action}' cannot give a strike (use remove, restrict or label)",
                )

        def days(name: str, low: int) -> int:
            value = getattr(default, name)
            if name in fields:
                value = int(self.number(fields[name], f"strikes: {name}", low, 3650, whole=True))
            return int(value)

        return Strikes(
            actions=actions,
            expire_days=days("expire_days", 1),
            suspend_after=days("suspend_after", 0),
            suspend_days=days("suspend_days", 1),
        )

    def number(
        self, node: yaml.Node, what: str, low: float, high: float, whole: bool = False
    ) -> float:
        kinds = (":int",) if whole else (":int", ":float")
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(kinds):
            value = float(node.value)
            if low <= value <= high:
                return value
        kind = "a whole number" if whole else "a number"
        self.problem(node, f"{what} must be {kind} from {low:g} to {high:g}")
        return low

    def boolean(self, node: yaml.Node | None, what: str) -> bool | None:
        if node is None:
            return None
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":bool"):
            return str(node.value).lower() in ("true", "yes", "on")
        self.problem(node, f"{what} must be true or false")
        return None
