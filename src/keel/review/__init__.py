"""Production-readiness review: checks as data over a project view, and the scored report."""

from keel.review.checks import CHECKS, Check, Finding, Priority, Status
from keel.review.project import LiveEndpoint, ProjectView, load_project
from keel.review.report import SCHEMA, ReviewItem, ReviewReport, review

__all__ = [
    "CHECKS",
    "SCHEMA",
    "Check",
    "Finding",
    "LiveEndpoint",
    "Priority",
    "ProjectView",
    "ReviewItem",
    "ReviewReport",
    "Status",
    "load_project",
    "review",
]
