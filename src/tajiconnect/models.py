"""Every model module, imported once so that both metadata objects are complete."""

from tajiconnect.domains.accounts.models import (
    EmailToken,
    OrganizationSettings,
    RecoveryCode,
    RefreshToken,
    User,
    UserAvatar,
    UserSession,
)
from tajiconnect.domains.announcements.models import Announcement, AnnouncementRecipient
from tajiconnect.domains.assessments.models import Assessment, Attempt, AttemptAnswer, QuizSlot, Submission
from tajiconnect.domains.audit.models import AuditEntry, PlatformAuditEntry
from tajiconnect.domains.billing.models import BillingEvent
from tajiconnect.domains.careers.models import CareerPathway, PathwaySkill
from tajiconnect.domains.certificates.models import Certificate
from tajiconnect.domains.courses.models import Course, CourseModule, CourseReview, Lesson
from tajiconnect.domains.discussions.models import (
    DiscussionPost,
    DiscussionReport,
    DiscussionSubscription,
    DiscussionThread,
)
from tajiconnect.domains.enrollments.models import Enrollment, LearningAssignment, LearningRequest
from tajiconnect.domains.grading.models import (
    CommentBankEntry,
    Grade,
    GradebookCategory,
    GradebookSettings,
    GradeEvent,
    GradeOverride,
    Rubric,
    SimilarityMatch,
)
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.domains.homes.models import Nudge
from tajiconnect.domains.jobs.models import (
    Employer,
    Job,
    JobApplication,
    JobApplicationEvent,
    JobSearch,
    JobSkill,
)
from tajiconnect.domains.licensing.models import License, Plan, SeatEvent
from tajiconnect.domains.live.models import CalendarFeed, LiveAttendance, LiveSession
from tajiconnect.domains.messages.models import Conversation, ConversationMember, Message, MessageReport
from tajiconnect.domains.notifications.models import Notification, NotificationDelivery, NotificationPreference
from tajiconnect.domains.parents.models import PairingCode, ParentLink
from tajiconnect.domains.paths.models import LearningPath, PathEnrollment, PathStage
from tajiconnect.domains.progress.models import LearnerStats, LearningCompletion, LearningDay, LessonProgress
from tajiconnect.domains.questions.models import Question, QuestionBank
from tajiconnect.domains.reports.models import Report, ReportSchedule
from tajiconnect.domains.resumes.models import Resume, ResumeComment, ResumeEntry, ResumeReview
from tajiconnect.domains.roster.models import RosterImport, RosterImportRow
from tajiconnect.domains.signup.models import Signup
from tajiconnect.domains.skills.models import Skill, SkillEvidence, SkillTarget
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.mail.models import SentEmail
from tajiconnect.platform.models import OperatorRecoveryCode, OperatorSession, PlatformOperator, TenantExport
from tajiconnect.tasks.models import FailedTask, OutboxMessage
from tajiconnect.tenancy.models import Tenant, TenantDomain
from tajiconnect.web.idempotency import IdempotentRequest

__all__ = [
    "Announcement",
    "AnnouncementRecipient",
    "Assessment",
    "Attempt",
    "AttemptAnswer",
    "AuditEntry",
    "BillingEvent",
    "CalendarFeed",
    "CareerPathway",
    "Certificate",
    "CommentBankEntry",
    "Conversation",
    "ConversationMember",
    "Course",
    "CourseModule",
    "CourseReview",
    "DiscussionPost",
    "DiscussionReport",
    "DiscussionSubscription",
    "DiscussionThread",
    "EmailToken",
    "Employer",
    "Enrollment",
    "FailedTask",
    "Grade",
    "GradeEvent",
    "GradeOverride",
    "GradebookCategory",
    "GradebookSettings",
    "Group",
    "GroupMembership",
    "IdempotentRequest",
    "Job",
    "JobApplication",
    "JobApplicationEvent",
    "JobSearch",
    "JobSkill",
    "LearnerStats",
    "LearningAssignment",
    "LearningCompletion",
    "LearningDay",
    "LearningPath",
    "LearningRequest",
    "Lesson",
    "LessonProgress",
    "License",
    "LiveAttendance",
    "LiveSession",
    "Message",
    "MessageReport",
    "Notification",
    "NotificationDelivery",
    "NotificationPreference",
    "Nudge",
    "OperatorRecoveryCode",
    "OperatorSession",
    "OrganizationSettings",
    "OutboxMessage",
    "PairingCode",
    "ParentLink",
    "PathEnrollment",
    "PathStage",
    "PathwaySkill",
    "Plan",
    "PlatformAuditEntry",
    "PlatformOperator",
    "Question",
    "QuestionBank",
    "QuizSlot",
    "RecoveryCode",
    "RefreshToken",
    "Report",
    "ReportSchedule",
    "Resume",
    "ResumeComment",
    "ResumeEntry",
    "ResumeReview",
    "RosterImport",
    "RosterImportRow",
    "Rubric",
    "SeatEvent",
    "SentEmail",
    "Signup",
    "SimilarityMatch",
    "Skill",
    "SkillEvidence",
    "SkillTarget",
    "StoredFile",
    "Submission",
    "Tenant",
    "TenantDomain",
    "TenantExport",
    "User",
    "UserAvatar",
    "UserSession",
]
