"""The one settings object: read from the environment once, passed to what needs it."""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BeforeValidator,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from holiday_dates import known_country, public_days
from mail.links import RENEWAL_LINK_TEMPLATE
from timings import (
    CheckinSetup,
    LeadTimings,
    OrderTimings,
    RenewalTimings,
    TermsTimings,
)
from webhooks.signing import check_secret
from work_calendar import CalendarError, CalendarSpec, Hours

T = TypeVar("T", tuple[str, ...], dict[str, list[str]])
logger = logging.getLogger(__name__)

# The secrets' development defaults: fine on a laptop, refused in production.
DEV_BACKEND_TOKEN = "dev-backend-token"
DEV_PAY_LINK_SECRET = "dev-pay-link-secret"
DEV_UNSUBSCRIBE_SECRET = "dev-unsubscribe-secret"
DEV_SESSION_SECRET = "dev-session-secret"
MIN_SECRET_LENGTH = 32
# Whole-number settings and the bounds they must keep, both included.
BOUNDS = {
    "enroll_batch_size": (1, 1000),
    "max_manager_discount": (1, 100),
    "max_instalments": (2, 36),
}


def _plain_seconds(value: object) -> object:
    """A plain number in the environment is seconds (`GRACE=120`); ISO 8601 works too."""
    if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
        return float(value)
    return value


# The type of every duration setting: one rule for reading them (_plain_seconds).
Duration = Annotated[timedelta, BeforeValidator(_plain_seconds)]


class WeakSecrets(ValueError):
    """CHASER_ENV=production with a development default or a short secret."""


class Settings(BaseSettings):
    """Every knob of SPEC §6. Durations accept seconds or ISO 8601 (`P30D`, `PT1M`)."""

    model_config = SettingsConfigDict(extra="ignore")

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "chaser"
    # A TLS cluster: PEM files of the client certificate and key (mTLS) and of the CA that
    # signed the server's certificate (when the system's roots do not know it).
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    # Temporal Cloud: an API key (TLS is then on), with the `<ns>.<account>` namespace.
    temporal_api_key: SecretStr | None = None
    # The worker's Prometheus endpoint (`/metrics` on every address); none when unset.
    worker_metrics_port: int | None = None
    # OpenTelemetry traces over OTLP/HTTP (e.g. `http://localhost:4318`); none when unset.
    otel_exporter_otlp_endpoint: str | None = None

    database_url: str = "sqlite+aiosqlite:///data/chaser.db"
    data_dir: Path = Path("data")

    email_backend: Literal["file", "smtp"] = "file"
    smtp_url: str = "smtp://localhost:1025"
    mail_from: str = "Chaser <noreply@chaser.localhost>"
    manager_notify_email: bool = True

    public_base_url: str = "http://localhost:8000"
    pay_link_template: str = "{base_url}/pay/{order_id}?token={token}"
    pay_link_secret: SecretStr = SecretStr(DEV_PAY_LINK_SECRET)

    default_timezone: str = "Europe/Moscow"
    default_language: Literal["en", "ru"] = "en"
    # The calendar (README "Calendar"): the country's public holidays (the `holidays`
    # package; empty for none), extra days off, and transferred working days.
    holidays_country: str | None = "RU"
    holidays: Annotated[tuple[date, ...], NoDecode] = ()
    working_days: Annotated[tuple[date, ...], NoDecode] = ()
    # Managers' hours unless a manager has their own; the shop's hours for the pool.
    working_hours: str = "Mon-Fri 09:00-19:00"
    pool_hours: str = "Mon-Fri 09:00-19:00"
    # Marketing emails go out only inside this window of the customer's local time.
    send_window: str = "09:00-21:00"

    backend_token: SecretStr = SecretStr(DEV_BACKEND_TOKEN)
    # Signs the web app's session cookie; a sign-in lasts session_max_age.
    session_secret: SecretStr = SecretStr(DEV_SESSION_SECRET)
    session_max_age: Duration = timedelta(hours=12)
    # production: the API and the worker refuse to start with weak secrets (check_secrets).
    chaser_env: Literal["development", "production"] = "development"

    # Webhooks out (Standard Webhooks). WEBHOOK_URL + WEBHOOK_SECRET make the endpoint
    # `default`; POST /v1/webhooks adds more.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_poll: Duration = timedelta(seconds=1)  # how often the worker looks for new events
    webhook_first_retry: Duration = timedelta(seconds=5)  # doubling from here...
    webhook_max_retry_gap: Duration = timedelta(hours=2)  # ...up to this gap
    webhook_retry_for: Duration = timedelta(days=3)  # then the message is given up
    webhook_timeout: Duration = timedelta(seconds=10)  # one attempt

    # Signs the unsubscribe links of marketing emails.
    unsubscribe_secret: SecretStr = SecretStr(DEV_UNSUBSCRIBE_SECRET)

    # Enrolment jobs start chases in batches, a pause apart, so live chases keep the worker.
    enroll_batch_size: int = 100
    enroll_batch_pause: Duration = timedelta(seconds=1)

    # Order chase (SPEC §1).
    grace: Duration = timedelta(minutes=1)
    payment_window: Duration = timedelta(days=30)
    # A pause (POST /v1/orders/{id}/pause) moves the payment window's end by its length.
    pause_extends_window: bool = False
    phone_wait: Duration = timedelta(days=5)
    pending_wait: Duration = timedelta(days=3)
    dial_days: int = 3
    calls_per_day: int = 3
    retry_gap: Duration = timedelta(minutes=30)
    day_gap: Duration = timedelta(days=1)
    first_reminder: Duration = timedelta(days=2)
    # The sources leave these two to the shop; a day each keeps the sequence within a week.
    open_wait: Duration = timedelta(days=1)
    purchase_wait: Duration = timedelta(days=1)
    offer_percent: int = 5
    offer_valid: Duration = timedelta(days=2)
    objection_emails: tuple[str, ...] = ("objection_1", "objection_2", "objection_3")
    # Special terms a manager agrees on a call (seed 003): a discount up to this percent...
    max_manager_discount: int = 10
    # ...or payment in parts: the first due INSTALMENT_FIRST_DUE after the plan, the next ones
    # INSTALMENT_INTERVAL apart, each reminded INSTALMENT_NOTICE before; the chase lasts until
    # INSTALMENT_GRACE after the last one (or the payment window's end). 2..MAX_INSTALMENTS parts.
    instalment_first_due: Duration = timedelta(days=3)
    instalment_interval: Duration = timedelta(days=30)
    instalment_notice: Duration = timedelta(days=1)
    instalment_grace: Duration = timedelta(days=7)
    max_instalments: int = 6
    # Per product, the emails of its cadence in order (PRODUCT_EMAILS, JSON:
    # `{"course-x": ["objection_1", "landing"]}`); products not named use objection_emails.
    product_emails: dict[str, list[str]] = {}
    # Per product, the landing page the `landing` email links to (PRODUCT_LANDING_URLS, JSON).
    product_landing_urls: dict[str, str] = {}

    # Subscription renewals (README "Subscription renewals"): reminder emails this many days
    # before a period ends (`7,1`), and the manager's call task this long before it.
    renewal_notices: Annotated[tuple[float, ...], NoDecode] = (7.0, 1.0)
    renewal_call_before: Duration = timedelta(days=3)
    renewal_link_template: str = RENEWAL_LINK_TEMPLATE

    # Check-in after a purchase (README "Check-in after purchase"): the products that get one
    # and after how many days, `course-1=30,course-2=14`; a product named without days gets
    # CHECKIN_DEFAULT_DAYS, one not named gets none. CHECKIN_EMAIL: the customer is asked too.
    checkin_after: Annotated[dict[str, float | None], NoDecode] = {}
    checkin_default_days: float = 30.0
    checkin_email: bool = True

    # Lead chase (SPEC §2).
    lead_interval_business_days: int = 3
    lead_rounds: int = 3

    chaser_time_scale: float = 1.0

    # LOG_FORMAT: `json` (one object a line, for collectors) or `console` (for people).
    log_format: Literal["json", "console"] = "console"
    log_level: str = "INFO"

    @field_validator("holidays", "working_days", mode="before")
    @classmethod
    def _split_dates(cls, value: object) -> object:
        """HOLIDAYS and WORKING_DAYS are comma-separated ISO dates: `2026-01-01,2026-01-02`."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("renewal_notices", mode="before")
    @classmethod
    def _notice_days(cls, value: object) -> object:
        """RENEWAL_NOTICES is comma-separated days before the period ends: `7,1`."""
        if isinstance(value, str):
            try:
                days = tuple(float(part) for part in value.split(",") if part.strip())
            except ValueError as error:
                raise ValueError(f"RENEWAL_NOTICES {value!r}: write days as `7,1`") from error
            if any(day <= 0 for day in days):
                raise ValueError(f"RENEWAL_NOTICES {value!r}: days must be positive")
            return days
        return value

    @field_validator("checkin_after", mode="before")
    @classmethod
    def _checkin_products(cls, value: object) -> object:
        """CHECKIN_AFTER is `product=days,...`; a product without `=days` keeps the default
        (filled in by checkin_setup). JSON (`{"course-1": 30}`) works too."""
        if not isinstance(value, str) or value.strip().startswith("{"):
            return value
        products: dict[str, float | None] = {}
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            product, _, days = part.partition("=")
            try:
                products[product.strip()] = float(days) if days.strip() else None
            except ValueError as error:
                raise ValueError(f"CHECKIN_AFTER {part!r}: write `product=days`") from error
        return products

    @field_validator("checkin_after")
    @classmethod
    def _checkin_days(cls, value: dict[str, float | None]) -> dict[str, float | None]:
        for product, days in value.items():
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:-]*", product) or (
                days is not None and days <= 0
            ):
                raise ValueError(f"CHECKIN_AFTER {product}={days}: a product id and positive days")
        return value

    @field_validator("holidays_country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if not value:
            return None  # HOLIDAYS_COUNTRY= (empty): no public holidays
        if not known_country(value):
            raise ValueError(
                f"HOLIDAYS_COUNTRY {value!r} is not a country the holidays package knows"
            )
        return value.upper()

    @field_validator("working_hours", "pool_hours", "send_window")
    @classmethod
    def _hours(cls, value: str) -> str:
        try:
            Hours.parse(value)
        except CalendarError as error:
            raise ValueError(str(error)) from error
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"DEFAULT_TIMEZONE {value!r} is not a known time zone") from error
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_secret(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _webhook_pair(self) -> Settings:
        if (self.webhook_url is None) != (self.webhook_secret is None):
            raise ValueError("WEBHOOK_URL and WEBHOOK_SECRET go together")
        return self

    @field_validator(*BOUNDS)
    @classmethod
    def _within_bounds(cls, value: int, info: ValidationInfo) -> int:
        assert info.field_name is not None
        low, high = BOUNDS[info.field_name]
        if not low <= value <= high:
            raise ValueError(f"{info.field_name.upper()} must be {low}..{high}, got {value}")
        return value

    @field_validator("chaser_time_scale")
    @classmethod
    def _positive_scale(cls, value: float) -> float:
        if value <= 0:
            raise ValueError(f"CHASER_TIME_SCALE must be positive, got {value}")
        return value

    @field_validator("objection_emails", "product_emails")
    @classmethod
    def _template_names(cls, value: T) -> T:
        """Email kinds name templates under templates/emails/<language>/: plain names only."""
        lists = value.values() if isinstance(value, dict) else [value]
        for kinds in lists:
            for kind in kinds:
                if not re.fullmatch(r"[a-z0-9_]+", kind):
                    raise ValueError(f"email kind {kind!r} is not a template name")
        return value

    def check_secrets(self) -> None:
        """Refuse weak secrets in production; in development say so once, in the log."""
        weak = [
            name
            for name, secret, default in (
                ("BACKEND_TOKEN", self.backend_token, DEV_BACKEND_TOKEN),
                ("PAY_LINK_SECRET", self.pay_link_secret, DEV_PAY_LINK_SECRET),
                ("UNSUBSCRIBE_SECRET", self.unsubscribe_secret, DEV_UNSUBSCRIBE_SECRET),
                ("SESSION_SECRET", self.session_secret, DEV_SESSION_SECRET),
            )
            if secret.get_secret_value() == default
            or len(secret.get_secret_value()) < MIN_SECRET_LENGTH
        ]
        if not weak:
            return
        problem = (
            f"{' and '.join(weak)}: a development default or shorter than "
            f"{MIN_SECRET_LENGTH} characters"
        )
        if self.chaser_env == "production":
            raise WeakSecrets(f"CHASER_ENV=production refuses {problem}")
        logger.warning("%s; fine for development, refused with CHASER_ENV=production", problem)

    def calendar(self, timezone: str, hours: str, today: date) -> CalendarSpec:
        """A chase's calendar in `timezone`: the public holidays from the year before `today`
        (the chase's start) to two years after, which outlasts any chase, then HOLIDAYS and
        WORKING_DAYS, which win over the country's."""
        year = today.year
        public = public_days(self.holidays_country, range(year - 1, year + 3))
        days_off = (public.days_off | set(self.holidays)) - set(self.working_days)
        working = (public.working_days | set(self.working_days)) - set(self.holidays)
        return CalendarSpec(
            timezone=timezone,
            hours=hours,
            days_off=[day.isoformat() for day in sorted(days_off)],
            working_days=[day.isoformat() for day in sorted(working)],
        )

    def lead_timings(self, today: date) -> LeadTimings:
        """The calendar a lead chase takes in its input when it starts (SPEC §2)."""
        calendar = self.calendar(self.default_timezone, "Mon-Fri 00:00-24:00", today)
        return LeadTimings(
            interval_business_days=self.lead_interval_business_days,
            rounds=self.lead_rounds,
            timezone=self.default_timezone,
            holidays=calendar.days_off,
            time_scale=self.chaser_time_scale,
            working_days=calendar.working_days,
        )

    def renewal_timings(self) -> RenewalTimings:
        """When a renewal's steps fall before its period ends, as a renewal takes them at start."""
        return RenewalTimings(
            notices=[days * 86_400 for days in sorted(set(self.renewal_notices), reverse=True)],
            call_before=self.renewal_call_before.total_seconds(),
            time_scale=self.chaser_time_scale,
        )

    def checkin_setup(self) -> CheckinSetup:
        """The products that get a check-in and how long after payment (scaled seconds)."""
        default = self.checkin_default_days
        after = {
            product: self.scaled(timedelta(days=default if days is None else days))
            for product, days in self.checkin_after.items()
        }
        return CheckinSetup(after=after, send_email=self.checkin_email)

    def scaled(self, duration: timedelta) -> float:
        """A duration in seconds after CHASER_TIME_SCALE."""
        return duration.total_seconds() * self.chaser_time_scale

    def order_timings(
        self,
        product_id: str | None = None,
        customer_timezone: str | None = None,
        today: date | None = None,
    ) -> OrderTimings:
        """The durations, the product's emails and the customer's send window (with the
        public holidays around `today`, the chase's start; none without it) an order chase
        takes in its input."""
        zone = customer_timezone or self.default_timezone
        window = self.calendar(zone, self.send_window, today) if today else None
        return OrderTimings(
            **self._in_seconds(
                "grace",
                "payment_window",
                "phone_wait",
                "pending_wait",
                "dial_days",
                "calls_per_day",
                "retry_gap",
                "day_gap",
                "first_reminder",
                "open_wait",
                "purchase_wait",
                "offer_percent",
                "offer_valid",
                "pause_extends_window",
            ),
            objection_emails=list(self.product_emails.get(product_id or "", self.objection_emails)),
            time_scale=self.chaser_time_scale,
            send_window=window or CalendarSpec(zone, self.send_window),
            terms=TermsTimings(
                max_discount=self.max_manager_discount,
                max_instalments=self.max_instalments,
                **self._in_seconds(
                    "first_due", "interval", "notice", "grace", prefix="instalment_"
                ),
            ),
        )

    def _in_seconds(self, *names: str, prefix: str = "") -> dict[str, Any]:
        """The settings `prefix + name` under their timings names: durations in seconds after
        CHASER_TIME_SCALE, counts and flags as they are."""
        values = {name: getattr(self, prefix + name) for name in names}
        return {
            name: self.scaled(value) if isinstance(value, timedelta) else value
            for name, value in values.items()
        }


class DefaultSettings(Settings):
    """The production defaults and what the caller passes, whatever the environment says: for
    tools whose results must not depend on the shell they run in (recordings, the benchmark)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)
