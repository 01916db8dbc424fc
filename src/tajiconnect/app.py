"""The application factory: plugins, middleware, routes and lifecycle in one readable place."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components
from litestar.plugins.htmx import HTMXPlugin
from sqlalchemy.exc import SQLAlchemyError

from tajiconnect import __version__
from tajiconnect.db.base import load_models
from tajiconnect.db.session import create_engine
from tajiconnect.db.transaction import RequestTransactionMiddleware, commit_before_answer, provide_db_session
from tajiconnect.domains.accounts.api import AuthApi, MeApi, UsersApi
from tajiconnect.domains.accounts.auth import AuthenticationMiddleware
from tajiconnect.domains.accounts.pages_account import AccountPages, avatar
from tajiconnect.domains.accounts.pages_admin import AdminSecurityPages, AdminUserPages
from tajiconnect.domains.accounts.pages_auth import AuthPages
from tajiconnect.domains.accounts.sessions import DatabaseSessionStore, RedisSessionStore
from tajiconnect.domains.announcements.api import AnnouncementsApi
from tajiconnect.domains.announcements.pages import AnnouncementPages
from tajiconnect.domains.assessments.api import AssessmentsApi, AttemptsApi, QuizSlotsApi
from tajiconnect.domains.assessments.assignment_pages import AssignmentPages
from tajiconnect.domains.assessments.builder_pages import AssessmentBuilderPages
from tajiconnect.domains.assessments.quiz_pages import QuizPages
from tajiconnect.domains.assessments.submissions_api import SubmissionApi
from tajiconnect.domains.audit.controllers import AuditApi, AuditPages
from tajiconnect.domains.billing.pages import BillingPages
from tajiconnect.domains.billing.read_only import ReadOnlyMiddleware
from tajiconnect.domains.billing.webhooks import StripeWebhooks
from tajiconnect.domains.careers.api import PathwaysApi
from tajiconnect.domains.careers.pages import AdminPathwayPages, CareerHomePage, PathwayPages, RequestPages
from tajiconnect.domains.catalog.pages import CatalogPages
from tajiconnect.domains.certificates.api import CertificatesApi
from tajiconnect.domains.certificates.pages import AdminCertificatePages, CertificatePages, verify_page
from tajiconnect.domains.courses.api import CoursesApi, LessonsApi, ModulesApi
from tajiconnect.domains.courses.pages import CourseReviewPages, TeachCoursePages
from tajiconnect.domains.discussions.api import DiscussionsApi
from tajiconnect.domains.discussions.pages import DiscussionPages, ModerationPages
from tajiconnect.domains.enrollments.api import EnrollmentsApi
from tajiconnect.domains.enrollments.teaching import TeachingPages
from tajiconnect.domains.grading.analytics_pages import AnalyticsPages
from tajiconnect.domains.grading.gradebook_api import AssessmentInsightsApi, GradebookApi, GradebookCategoriesApi
from tajiconnect.domains.grading.gradebook_pages import GradebookPages, LearnerGradesPages
from tajiconnect.domains.grading.grader_api import CommentBankApi, GradingQueueApi, ReleaseApi, RubricsApi
from tajiconnect.domains.grading.grader_pages import GraderPages, RubricPages
from tajiconnect.domains.grading.similarity_pages import SimilarityPages
from tajiconnect.domains.groups.api import TeamsApi
from tajiconnect.domains.groups.pages import GroupPages
from tajiconnect.domains.homes.pages import AtRiskSettingsPages, HomePages
from tajiconnect.domains.jobs.api import ApplicationsApi, JobsApi
from tajiconnect.domains.jobs.pages import AdminJobSettings, EmployerPages, JobPages, PlatformJobPages
from tajiconnect.domains.licensing.api import LicenseApi, SeatsApi
from tajiconnect.domains.licensing.pages import SeatPages
from tajiconnect.domains.live.api import LiveSessionsApi
from tajiconnect.domains.live.pages import CalendarPages, LivePages
from tajiconnect.domains.messages.api import ConversationsApi, MessagesApi
from tajiconnect.domains.messages.pages import MessageModerationPages, MessagePages
from tajiconnect.domains.notifications.api import NotificationsApi
from tajiconnect.domains.notifications.pages import NotificationPages
from tajiconnect.domains.parents.api import ChildrenApi, PairingCodesApi, ParentsApi
from tajiconnect.domains.parents.pages import AdminFamilyPages, ChildrenPages, FamilyPages, PairingCodePages
from tajiconnect.domains.paths.api import PathsApi
from tajiconnect.domains.paths.pages import PathBuilderPages, PathPages
from tajiconnect.domains.progress.api import LearningApi
from tajiconnect.domains.progress.pages import LearnPages
from tajiconnect.domains.questions.api import CONTROLLERS as QUESTION_API
from tajiconnect.domains.questions.pages import BankPages, CourseBankPages
from tajiconnect.domains.reports.api import ReportsApi
from tajiconnect.domains.reports.pages import ReportPages
from tajiconnect.domains.resumes.api import ResumesApi
from tajiconnect.domains.resumes.pages import ResumePages, ReviewPages, SharedResumePages
from tajiconnect.domains.roster.api import ImportsApi, RosterApi
from tajiconnect.domains.roster.pages import ImportPages, export_roster
from tajiconnect.domains.signup.pages import SignupPages
from tajiconnect.domains.skills.api import AssessmentSkillsApi, CourseSkillsApi, PathSkillsApi, SkillsApi
from tajiconnect.domains.skills.pages import (
    AdminSkillPages,
    AssessmentSkillPages,
    CourseSkillPages,
    PathSkillPages,
    SkillPages,
)
from tajiconnect.domains.storage.api import UploadPages, UploadsApi
from tajiconnect.domains.storage.pages import serve_file
from tajiconnect.domains.storage.service import Storage
from tajiconnect.logs import configure_logging
from tajiconnect.platform.mfa_pages import OperatorTwoFactorPages
from tajiconnect.platform.models import OperatorSession
from tajiconnect.platform.pages import PlatformPages
from tajiconnect.platform.task_pages import PlatformTaskPages
from tajiconnect.processes import supervised_child
from tajiconnect.settings import Settings, get_settings
from tajiconnect.tasks.queue import connect_when_reachable, create_queues
from tajiconnect.tenancy.middleware import TenancyMiddleware
from tajiconnect.tenancy.resolver import TenantResolver
from tajiconnect.web.allow import allow_header
from tajiconnect.web.csrf import CSRFMiddleware
from tajiconnect.web.errors import database_error_handler, http_exception_handler, internal_error_handler
from tajiconnect.web.health import health
from tajiconnect.web.idempotency import ReplayError, replay_handler
from tajiconnect.web.input_guard import InputGuardMiddleware
from tajiconnect.web.openapi import (
    BEARER,
    BEARER_SCHEME,
    ClosedFormSchemaPlugin,
    ClosedStructSchemaPlugin,
    SelfHostedSwagger,
)
from tajiconnect.web.pages import favicon, home, static_file, tenant_static
from tajiconnect.web.security import content_security_policy, security_headers
from tajiconnect.web.strict_body import strict_json_body
from tajiconnect.web.templating import template_config
from tajiconnect.worker import load_tasks


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    supervised_child()  # a granian worker of ``tajiconnect run`` dies with it (no orphan holds the port)
    configure_logging(settings.log_level, json=settings.log_json)
    load_models()
    load_tasks()
    engine = create_engine(settings.sqlalchemy_url, pool_size=settings.db_pool_size)
    # Built here rather than in the lifespan: no I/O (boto3 connects on first use), and it outlives test clients.
    storage = Storage.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.engine = engine
        app.state.tenant_resolver = TenantResolver(
            engine, settings.base_domain, settings.tenant_cache_seconds, grace_days=settings.billing.grace_days
        )
        app.state.redis = None
        if settings.redis_url:
            from redis.asyncio import Redis

            app.state.redis = Redis.from_url(settings.redis_url.get())
        app.state.session_store = (
            RedisSessionStore(app.state.redis) if app.state.redis is not None else DatabaseSessionStore(engine)
        )
        app.state.operator_session_store = (
            RedisSessionStore(app.state.redis, namespace="platform")
            if app.state.redis is not None
            else DatabaseSessionStore(engine, model=OperatorSession)
        )
        app.state.queue = create_queues(settings)
        connecting: asyncio.Task[None] | None = None
        try:
            await app.state.queue.connect()  # gives up after the pool timeout (5 s) when the broker is away
        except Exception:
            # The app starts anyway and answers (503 while the database is away); the queue connects when it can.
            connecting = asyncio.create_task(connect_when_reachable(app.state.queue))
        try:
            yield
        finally:
            if connecting is not None:
                connecting.cancel()
                with contextlib.suppress(BaseException):
                    await connecting
            with contextlib.suppress(Exception):
                await asyncio.wait_for(app.state.queue.disconnect(), timeout=5)
            if app.state.redis is not None:
                # Shutting down: a connection that cannot be closed cleanly (its loop is gone) is dropped anyway.
                with contextlib.suppress(Exception):
                    await app.state.redis.aclose()
            await engine.dispose()

    return Litestar(
        route_handlers=[
            health,
            StripeWebhooks,
            home,
            static_file,
            favicon,
            tenant_static,
            AuthPages,
            AccountPages,
            avatar,
            AdminUserPages,
            AdminSecurityPages,
            AuditPages,
            SeatPages,
            BillingPages,
            GroupPages,
            HomePages,
            AtRiskSettingsPages,
            ImportPages,
            export_roster,
            AuthApi,
            MeApi,
            UsersApi,
            AuditApi,
            LicenseApi,
            SeatsApi,
            TeamsApi,
            ChildrenPages,
            FamilyPages,
            PairingCodePages,
            AdminFamilyPages,
            MessagePages,
            MessageModerationPages,
            ConversationsApi,
            MessagesApi,
            ParentsApi,
            PairingCodesApi,
            ChildrenApi,
            ImportsApi,
            RosterApi,
            UploadsApi,
            UploadPages,
            serve_file,
            CatalogPages,
            DiscussionPages,
            ModerationPages,
            DiscussionsApi,
            PathPages,
            PathBuilderPages,
            TeachingPages,
            EnrollmentsApi,
            PathsApi,
            PlatformPages,
            OperatorTwoFactorPages,
            PlatformTaskPages,
            SignupPages,
            TeachCoursePages,
            CourseReviewPages,
            CoursesApi,
            ModulesApi,
            LessonsApi,
            LearnPages,
            LearningApi,
            GradebookPages,
            LearnerGradesPages,
            ReportPages,
            ReportsApi,
            NotificationPages,
            NotificationsApi,
            CertificatePages,
            AdminCertificatePages,
            verify_page,
            CertificatesApi,
            AnnouncementPages,
            AnnouncementsApi,
            LivePages,
            CalendarPages,
            LiveSessionsApi,
            SkillsApi,
            CourseSkillsApi,
            PathSkillsApi,
            AssessmentSkillsApi,
            SkillPages,
            CourseSkillPages,
            PathSkillPages,
            AssessmentSkillPages,
            AdminSkillPages,
            PathwaysApi,
            ResumesApi,
            JobsApi,
            ApplicationsApi,
            CareerHomePage,
            PathwayPages,
            RequestPages,
            AdminPathwayPages,
            ResumePages,
            ReviewPages,
            SharedResumePages,
            JobPages,
            EmployerPages,
            PlatformJobPages,
            AdminJobSettings,
            GradebookApi,
            GradebookCategoriesApi,
            AssessmentInsightsApi,
            AnalyticsPages,
            SimilarityPages,
            AssignmentPages,
            SubmissionApi,
            GraderPages,
            RubricPages,
            GradingQueueApi,
            ReleaseApi,
            RubricsApi,
            CommentBankApi,
            AssessmentsApi, QuizSlotsApi, AttemptsApi, QuizPages, AssessmentBuilderPages,
            *QUESTION_API,
            CourseBankPages,
            BankPages,
        ],
        state=State({"storage": storage,
                     "content_security_policy": content_security_policy(settings.storage.s3_origin)}),
        plugins=[HTMXPlugin(), ClosedStructSchemaPlugin(), ClosedFormSchemaPlugin()],
        # The request's session: committed by the after_request hook, before the answer exists (db/transaction.py).
        dependencies={"db_session": Provide(provide_db_session)},
        after_request=commit_before_answer,
        # JSON bodies are checked strictly against the handler's type (0 is not false): web/strict_body.py.
        before_request=strict_json_body,
        # Order: open the request's transaction holder, resolve the host (400 when bad; enters the tenant and its
        # language, so every later refusal is explained in it), refuse malformed input, check the CSRF pair (bound
        # to that host), then find who is calling, then refuse writes on a read-only organization. Nothing reads
        # the body or the database before the guard.
        middleware=[
            RequestTransactionMiddleware(),
            TenancyMiddleware(),
            InputGuardMiddleware(),
            CSRFMiddleware(settings.secret_key.get(), secure=settings.secure_cookies),
            AuthenticationMiddleware(),
            # A read-only organization (billing) refuses writes except on routes marked ``read_only_ok``.
            ReadOnlyMiddleware(),
        ],
        template_config=template_config(),
        compression_config=CompressionConfig(backend="gzip", minimum_size=500, gzip_compress_level=6,
                                             exclude=["^/files/"]),  # byte ranges of stored files, as stored
        openapi_config=OpenAPIConfig(
            title="TajiConnect API",
            version=__version__,
            path="/schema",
            render_plugins=[SelfHostedSwagger()],
            components=Components(security_schemes={BEARER: BEARER_SCHEME}),
        ),
        exception_handlers={
            HTTPException: http_exception_handler,
            SQLAlchemyError: database_error_handler,
            ReplayError: replay_handler,
            Exception: internal_error_handler,
        },
        lifespan=[lifespan],
        before_send=[security_headers, allow_header],
        debug=settings.debug,
        logging_config=None,  # configure_logging() owns logging (structlog, tenant and request id on each line)
    )
