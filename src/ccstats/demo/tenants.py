"""The demo tenants, their settings and their fixed credentials (the README's curl examples use them)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ccstats.auth import CredentialError, create_credential, verify_secret
from ccstats.records import Agent, Bot, NamedOption, TenantSettings
from ccstats.scope import VENDOR_SOURCES, Scope, default_scope
from ccstats.storage import Credential, Store

__all__ = [
    "ACME",
    "ACME_AGENTS",
    "BANK",
    "BANK_AGENTS",
    "CHATBOT_CODE",
    "DemoError",
    "DemoCredential",
    "CREDENTIALS",
    "HOTLINE_INSTANCE",
    "IVR_CODE",
    "MOOR_ACCESS_IDS",
    "RETAIL",
    "AGENT_STATUSES",
    "SATISFACTION_OPTIONS",
    "demo_tenants",
    "ensure_credential",
]

BANK, RETAIL, ACME = "202104237142", "twin24-demo", "acme-us"
IVR_CODE = "943370855474270208"  # seed 000's accessCode
CHATBOT_CODE = "950964151029600256"
MOOR_ACCESS_IDS = ("XhRRVj3VLLVYsoNA", "jT5AH3dA7dtMNjAQ")  # seed 002 accessIds
HOTLINE_INSTANCE = "ccc_xp_pre-cn-demo"  # seed 004 InstanceId, demo suffix

# Seed 002, agent/quality header: the five satisfaction columns, ids and labels as written there.
SATISFACTION_OPTIONS = (
    NamedOption(id="f71212c6-0927-4bad-99dc-a61f73fe2233", label="一般"),
    NamedOption(id="dceb6c54-5a00-4114-a36f-0f4e8e0f8659", label="很不满意"),
    NamedOption(id="4bdb8852-0ec4-4597-b407-3f268ac3cd18", label="超级满意1"),
    NamedOption(id="bb90cf04-e6a5-4633-af3f-19eee6f025f9", label="满意"),
    NamedOption(id="aa683307-4f25-418a-ae12-ea14c579856a", label="不满意"),
)
# Seed 002, agent/workload header: the five custom status columns (isCustomHeader: true).
AGENT_STATUSES = (
    NamedOption(id="1b1070a2-e9f4-42c2-9f21-b2aab5b74119", label="在线总时长"),
    NamedOption(id="8b7ad7a6-945a-4a76-a1e6-b9c53ef6d08f", label="忙碌总时长"),
    NamedOption(id="f1ed03f7-b42c-406b-ac08-f441c8982d6d", label="小休总时长"),
    NamedOption(id="680e38df-7554-4e06-b033-3a94b6733ee3", label="ceshi总时长"),
    NamedOption(id="9c68a0a3-18cb-462f-9265-fd0d09f210cf", label="测"),
)


def _agent_id(tenant: str, number: str) -> str:
    # 24 hex digits like 7moor's agent ids ("6062db21d316840011c6b992"); fixed, not seeded, so the
    # same agents exist whatever the seed.
    return hashlib.sha256(f"{tenant}:{number}".encode()).hexdigest()[:24]


_BANK_NAMES = (
    "王芳",
    "李娜",
    "张伟",
    "刘洋",
    "陈静",
    "杨磊",
    "赵敏",
    "黄勇",
    "周婷",
    "吴强",
    "徐丽",
    "孙浩",
)
BANK_AGENTS = tuple(
    Agent(id=_agent_id(BANK, str(8001 + i)), name=name, number=str(8001 + i))
    for i, name in enumerate(_BANK_NAMES)
)
_ACME_NAMES = (
    "Alice Johnson",
    "Brian Lee",
    "Carmen Diaz",
    "David Kim",
    "Emma Brown",
    "Frank Moore",
    "Grace Chen",
    "Henry Wilson",
)
ACME_AGENTS = tuple(
    Agent(id=f"acme-{101 + i}", name=name, number=str(101 + i))
    for i, name in enumerate(_ACME_NAMES)
)


def demo_tenants() -> list[TenantSettings]:
    """The three demo tenants with their full settings."""
    bank = TenantSettings(
        id=BANK,
        name="Demo Bank",
        timezone="Asia/Shanghai",
        satisfaction_options=list(SATISFACTION_OPTIONS),
        agent_statuses=list(AGENT_STATUSES),
        agents=list(BANK_AGENTS),
        bots=[
            Bot(access_code=IVR_CODE, name="语音导航机器人"),
            Bot(access_code=CHATBOT_CODE, name="智能问答机器人"),
            Bot(access_code=MOOR_ACCESS_IDS[0], name="官网在线客服"),
            Bot(access_code=MOOR_ACCESS_IDS[1], name="手机银行在线客服"),
        ],
        instances=[HOTLINE_INSTANCE],
    )
    retail = TenantSettings(id=RETAIL, name="Demo Retail", timezone="Europe/Moscow")
    acme = TenantSettings(
        id=ACME,
        name="Acme US",
        timezone="America/New_York",
        agents=list(ACME_AGENTS),
        bots=[
            Bot(access_code="+18005550100", name="Acme IVR"),
            Bot(access_code="acme-web-chat", name="Acme Assistant"),
        ],
    )
    return [bank, retail, acme]


class DemoError(RuntimeError):
    """The demo cannot be created (a clashing credential, a record that does not validate)."""


@dataclass(frozen=True)
class DemoCredential:
    """A fixed demo credential: `key` and `secret` as `create_credential` takes them."""

    tenant_id: str
    kind: str
    key: str | None
    secret: str

    def shown(self, scope: Scope | None = None) -> dict[str, Any]:
        """What `create_credential` returns for it (`dialects.md`, credentials table); a vendor
        credential with `scope` (default: its kind's default, which the demo creates)."""
        by_kind: dict[str, dict[str, Any]] = {
            "api": {"token": f"ccs_{self.key}_{self.secret}"},
            "huawei": {"appKey": self.tenant_id, "appSecret": self.secret},
            "7moor": {"appkey": self.key, "secret": self.secret},
            "twin24": {"email": self.key, "password": self.secret},
            "aliyun": {"accessKeyId": self.key, "accessKeySecret": self.secret},
        }
        shown = {"kind": self.kind, "tenant_id": self.tenant_id, **by_kind[self.kind]}
        if self.kind in VENDOR_SOURCES:
            shown["scope"] = (scope or default_scope(self.kind)).as_dict()
        return shown

    @property
    def key_id(self) -> str:
        """The key id the store files it under (Huawei: the tenant id)."""
        return self.key or self.tenant_id


CREDENTIALS = (
    DemoCredential(BANK, "api", "bank", "demo-token"),
    DemoCredential(RETAIL, "api", "retail", "demo-token"),
    DemoCredential(ACME, "api", "acme", "demo-token"),
    DemoCredential(BANK, "huawei", None, "demo-huawei-secret"),
    DemoCredential(BANK, "7moor", "2000103", "HWHp9xFVlbboxIU2S6DHA7sf9sGzt3"),
    DemoCredential(RETAIL, "twin24", "demo@twin24.local", "demo-password"),
    DemoCredential(BANK, "aliyun", "LTAIdemo0000000000000000", "demoAccessKeySecret0000000000"),
)


def _existing(store: Store, cred: DemoCredential) -> Credential | None:
    """The store's own copy of this very credential (a rerun of the demo), or None."""
    secret = cred.shown()["token"] if cred.kind == "api" else cred.secret
    for found in store.registry.find_credentials(cred.kind, cred.key_id):
        if found.tenant_id != cred.tenant_id:
            continue
        if found.secret == secret or verify_secret(secret, found.secret_hash):
            return found
    return None


def ensure_credential(store: Store, cred: DemoCredential) -> dict[str, Any]:
    """Create a demo credential unless it exists already; returns what a client needs."""
    existing = _existing(store, cred)
    if existing is not None:
        return cred.shown(existing.scope)
    try:
        return create_credential(
            store.registry, cred.tenant_id, cred.kind, key=cred.key, secret=cred.secret
        )
    except CredentialError as error:
        raise DemoError(
            f"cannot create the demo {cred.kind} credential {cred.key_id!r}: {error} "
            "(use a fresh --db for the demo)"
        ) from None
