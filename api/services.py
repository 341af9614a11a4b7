"""Everything the routes need, built once by the lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from psycopg_pool import ConnectionPool
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from api.auth.access import Authenticator
from api.auth.store import AuthStore
from api.cluster.bus import ClusterBus
from api.idempotency import IdempotencyStore
from api.live.city_map import CityMap
from api.live.geofence import GeofenceTracker
from api.live.geofence_store import FenceEventStore
from api.live.hub import Hub
from api.live.position_sink import PositionSink
from api.live.publisher import HubEventPublisher
from api.live.rider_stops import RiderRoutes
from api.live.tracker import LiveTracker
from api.metrics import Metrics
from api.patient_channel import FakeSmsGateway, PatientChannel, WebhookSmsGateway
from api.rate_limit import LimiterStorage, MemoryLimiterStorage, SlidingWindowLimiter
from api.rate_limit_store import PostgresLimiterStorage
from api.settings import ApiSettings
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.clock import clock_from_settings
from dispatch.context import DispatchContext
from dispatch.dev_secrets import resolve_secret, reveal
from dispatch.planning.legs import RouteLegs
from dispatch.ports import Clock
from dispatch.settings import ClockSettings, DatabaseSettings, DispatchSettings
from dispatch.worker_health import WorkerHealth
from telemetry.settings import TelemetrySettings
from telemetry.webhooks import WebhookSender


class AppSettings(BaseModel):
    """The settings of every package the API composes."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    api: ApiSettings = Field(default_factory=ApiSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    dispatch: DispatchSettings = Field(default_factory=DispatchSettings)
    clock: ClockSettings = Field(default_factory=ClockSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)

    @model_validator(mode="after")
    def _resolve_secrets(self) -> AppSettings:
        """Every secret set, or generated for the data folder outside production
        (:mod:`dispatch.dev_secrets`); production refuses unset and weak ones."""
        env, folder = self.api.environment, self.database.data_dir

        def resolve(value: SecretStr | None, name: str, env_var: str) -> SecretStr:
            return resolve_secret(
                value, name=name, env_var=env_var, environment=env, data_dir=folder
            )

        api, disp, tel = self.api, self.dispatch, self.telemetry
        self.api = api.model_copy(
            update={
                "jwt_secret": resolve(api.jwt_secret, "jwt", "API_JWT_SECRET"),
                "tracking_link_secret": resolve(
                    api.tracking_link_secret,
                    "tracking_link",
                    "API_TRACKING_LINK_SECRET",
                ),
            }
        )
        self.dispatch = disp.model_copy(
            update={
                "data_key": resolve(disp.data_key, "data_key", "DISPATCH_DATA_KEY"),
                "otp_pepper": resolve(
                    disp.otp_pepper, "otp_pepper", "DISPATCH_OTP_PEPPER"
                ),
                "audit_key": resolve(disp.audit_key, "audit_key", "DISPATCH_AUDIT_KEY"),
            }
        )
        self.telemetry = tel.model_copy(
            update={
                "webhook_secret": resolve(
                    tel.webhook_secret, "webhook", "TELEMETRY_WEBHOOK_SECRET"
                )
            }
        )
        return self


@dataclass
class Services:
    """The composed application: stores, live hub, limiters, domain services."""

    settings: AppSettings
    pool: ConnectionPool
    auth: AuthStore
    authenticator: Authenticator
    hub: Hub
    geofences: GeofenceTracker
    login_limiter: SlidingWindowLimiter
    otp_limiter: SlidingWindowLimiter
    otp_reissue_limiter: SlidingWindowLimiter
    live: LiveTracker
    fence_events: FenceEventStore
    db: Database
    routes: RiderRoutes
    publisher: HubEventPublisher
    positions: PositionSink
    metrics: Metrics
    clock: Clock
    """Business time (warped when the settings say so)."""
    idempotency: IdempotencyStore
    city: CityMap
    """The bundled city for map geometry (loaded in the background, or none)."""
    database_url: str = ""
    workers: WorkerHealth = field(default_factory=WorkerHealth)
    """Health of the background workers (readiness, metrics, dispatch alerts)."""
    bus: ClusterBus | None = None
    """The cross-instance event bus (``API_CLUSTER``; started by the lifespan)."""
    leadership: Literal["leader", "follower"] | None = None
    """Cluster: whether this instance runs the re-planner now (None: not in a
    cluster, or the re-planner is off)."""
    patient_channel: PatientChannel = field(default_factory=FakeSmsGateway)
    """Where patients' own links (with their delivery code) are texted."""


def _metrics(hub: Hub, workers: WorkerHealth) -> Metrics:
    metrics = Metrics()
    metrics.source(workers.metrics)
    metrics.gauge("ws_clients", lambda: hub.subscriber_count)
    metrics.gauge("ws_closed_slow_total", lambda: hub.closed_slow)
    metrics.gauge("ws_positions_published_total", lambda: hub.positions_published)
    metrics.gauge("ws_frames_published_total", lambda: hub.frames_published)
    metrics.gauge("dispatch_feed_seq", lambda: hub.feed_position()[1])
    return metrics


def build_services(
    settings: AppSettings, *, pool: ConnectionPool, database_url: str = ""
) -> Services:
    """Wire the API's parts and the dispatch core on an open pool."""
    api = settings.api
    store = AuthStore(
        pool,
        link_key=reveal(api.tracking_link_secret, "API_TRACKING_LINK_SECRET").encode(),
        device_cache_ttl_s=api.device_token_cache_s,
        device_token_ttl_s=api.device_token_ttl_s,
    )
    hub = Hub(queue_size=api.ws_queue_size)
    geofences = GeofenceTracker(
        dwell_s=api.geofence_dwell_s, exit_margin_m=api.geofence_exit_margin_m
    )
    fence_events = FenceEventStore(pool, claim=api.cluster)
    live = LiveTracker(
        hub,
        geofences,
        radius_m=api.geofence_radius_m,
        material_change_s=api.eta_material_change_s,
        record_fence_event=fence_events.record_soon,
    )
    publisher = HubEventPublisher(hub, on_terminal=store.close_tracking_links)
    clock = clock_from_settings(settings.clock)
    db = Database(
        pool,
        DispatchContext.from_settings(settings.dispatch),
        publisher=publisher,
        clock=clock,
    )
    city = CityMap(RouteLegs())
    routes = RiderRoutes(db, live, hub, legs=city.legs)
    publisher.on_change = routes.on_event
    workers = WorkerHealth(publisher, clock=clock)

    def limits(namespace: str) -> LimiterStorage:
        # several instances: a limit counted on one holds on the others
        if api.cluster:
            return PostgresLimiterStorage(pool, namespace=namespace)
        return MemoryLimiterStorage()

    return Services(
        settings=settings,
        pool=pool,
        auth=store,
        authenticator=Authenticator(
            store,
            jwt_secret=reveal(api.jwt_secret, "API_JWT_SECRET"),
            tracking_grace_s=api.tracking_grace_after_delivery_s,
            clock=clock,
        ),
        hub=hub,
        geofences=geofences,
        login_limiter=SlidingWindowLimiter(
            limit=api.login_attempts_per_min, storage=limits("login")
        ),
        otp_limiter=SlidingWindowLimiter(
            limit=api.otp_attempts_per_min, storage=limits("otp")
        ),
        otp_reissue_limiter=SlidingWindowLimiter(
            limit=api.otp_reissues_per_hour,
            window_s=3600.0,
            storage=limits("otp_reissue"),
        ),
        live=live,
        fence_events=fence_events,
        db=db,
        routes=routes,
        publisher=publisher,
        positions=PositionSink(
            db,
            min_interval_s=api.position_store_interval_s,
            min_move_m=api.position_store_move_m,
        ),
        metrics=_metrics(hub, workers),
        clock=clock,
        idempotency=IdempotencyStore(
            ("idempotency:" + reveal(api.jwt_secret, "API_JWT_SECRET")).encode(),
            ttl_s=api.idempotency_ttl_s,
        ),
        city=city,
        database_url=database_url,
        workers=workers,
        patient_channel=_patient_channel(settings),
    )


def _patient_channel(settings: AppSettings) -> PatientChannel:
    api = settings.api
    if api.patient_channel == "fake" or not api.patient_sms_webhook_url:
        return FakeSmsGateway()
    secret = reveal(settings.telemetry.webhook_secret, "TELEMETRY_WEBHOOK_SECRET")
    return WebhookSmsGateway(
        WebhookSender([api.patient_sms_webhook_url], secret.encode())
    )
