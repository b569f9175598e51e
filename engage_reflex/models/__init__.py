"""SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from engage_reflex.models.activity import ActivityLog, Comment, ModelRead
from engage_reflex.models.energy_model import (
    BaseTech,
    Carrier,
    Collaborator,
    EnergyModel,
    Invitation,
    Link,
    LinkParameter,
    Location,
    ModelFile,
    ModelParameter,
    Node,
    NodeParameter,
    Scenario,
    ScenarioConstraint,
    ScenarioLink,
    ScenarioNode,
    TechParameter,
    Technology,
    TechnologyCarrier,
)
from engage_reflex.models.run import TERMINAL_STATUSES, Run, RunStatus, Solver
from engage_reflex.models.timeseries import Timeseries, Upload, UploadStatus
from engage_reflex.models.users import AccountLink, LoginSession, User

__all__ = [
    "AccountLink", "ActivityLog", "BaseTech", "Carrier", "Collaborator", "Comment", "EnergyModel", "Invitation", "Link",
    "LinkParameter", "Location", "LoginSession", "ModelFile", "ModelParameter", "ModelRead", "Node",
    "NodeParameter", "Run", "RunStatus", "Scenario", "ScenarioConstraint", "ScenarioLink", "ScenarioNode", "Solver",
    "TERMINAL_STATUSES", "TechParameter", "Technology", "TechnologyCarrier", "Timeseries",
    "Upload", "UploadStatus", "User",
]
