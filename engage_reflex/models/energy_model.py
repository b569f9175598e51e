"""An energy model and everything it is made of.

Ownership runs one way: EnergyModel -> locations, carriers, technologies, nodes, links,
scenarios, files. Deleting a model deletes all of it (ON DELETE CASCADE).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel

from engage_reflex.models._common import (
    ParameterValueFields,
    created_at_field,
    json_field,
    optional_time_field,
    text_field,
)


class BaseTech(str, enum.Enum):
    supply = "supply"
    demand = "demand"
    storage = "storage"
    conversion = "conversion"
    transmission = "transmission"


class EnergyModel(SQLModel, table=True):
    __tablename__ = "energy_models"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_model_owner_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    description: str = text_field()
    owner_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    is_public: bool = Field(default=False, index=True)
    # A snapshot is a frozen copy; a copy is an editable one. Both point at their source.
    snapshot_of_id: int | None = Field(default=None, foreign_key="energy_models.id", ondelete="SET NULL")
    copied_from_id: int | None = Field(default=None, foreign_key="energy_models.id", ondelete="SET NULL")
    # Calliope's `config` section (init / build / solve) as imported or edited.
    calliope_config: dict = json_field(dict)
    # IANA zone the planner reads dates in (timestamps are stored in UTC).
    time_zone: str = Field(default="UTC", max_length=64)
    created_at: datetime = created_at_field()
    # Last change to anything in the model (services/activity.record_change sets it).
    updated_at: datetime = created_at_field()


class Collaborator(SQLModel, table=True):
    __tablename__ = "collaborators"
    __table_args__ = (UniqueConstraint("model_id", "user_id", name="uq_collaborator"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="energy_models.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    can_edit: bool = Field(default=False)
    created_at: datetime = created_at_field()


class Invitation(SQLModel, table=True):
    """A model shared with an address that has no account yet: once an account with that address is
    active, it becomes a Collaborator (accepted_at set)."""

    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("model_id", "email", name="uq_invitation"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="energy_models.id", ondelete="CASCADE", index=True)
    email: str = Field(max_length=254, index=True)
    can_edit: bool = Field(default=False)
    invited_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    accepted_at: datetime | None = optional_time_field()


class ModelFile(SQLModel, table=True):
    """A text file that belongs to the model definition, e.g. custom math YAML."""

    __tablename__ = "model_files"
    __table_args__ = (UniqueConstraint("model_id", "path", name="uq_model_file_path"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="energy_models.id", ondelete="CASCADE", index=True)
    path: str = Field(max_length=300)
    kind: str = Field(default="math", max_length=40)
    content: str = text_field()


class ModelParameter(ParameterValueFields, table=True):
    """Calliope's top-level `data_definitions` (e.g. bigM, objective_cost_weights)."""

    __tablename__ = "model_parameters"
    __table_args__ = (
        UniqueConstraint("model_id", "name", "index_key", "year", name="uq_model_parameter"),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="energy_models.id", ondelete="CASCADE", index=True)


class Location(SQLModel, table=True):
    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("model_id", "name", name="uq_location_name"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="energy_models.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=120)
    description: str = text_field()
    latitude: float | None = None
    longitude: float | None = None
    available_area: float | None = None
    # Any other node-level keys Calliope accepts (e.g. `active`) that have no column yet.
    extra: dict = json_field(dict)


class Carrier(SQLModel, table=True):
    __tablename__ = "carriers"
    __table_args__ = (UniqueConstraint("model_id", "name", name="uq_carrier_name"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="energy_models.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=120)
    # Engage-only metadata (Calliope's carriers are bare names): units for flows ("kW") and
    # for energy over time ("kWh"), used to convert what planners type; a colour for plots.
    rate_unit: str = Field(default="kW", max_length=40)
    quantity_unit: str = Field(default="kWh", max_length=40)
    color: str = Field(default="", max_length=20)
    description: str = text_field()


class Technology(SQLModel, table=True):
    __tablename__ = "technologies"
    __table_args__ = (UniqueConstraint("model_id", "name", name="uq_technology_name"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="energy_models.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=120)
    # Calliope's `name` key: what the planner reads in legends.
    display_name: str = Field(default="", max_length=200)
    base_tech: BaseTech = Field(sa_type=String(20), nullable=False)
    color: str = Field(default="", max_length=20)
    description: str = text_field()


class TechnologyCarrier(SQLModel, table=True):
    """A carrier a technology consumes (in), produces (out) or may export (export)."""

    __tablename__ = "technology_carriers"
    __table_args__ = (
        UniqueConstraint("technology_id", "carrier_id", "role", name="uq_technology_carrier"),
    )

    id: int | None = Field(default=None, primary_key=True)
    technology_id: int = Field(foreign_key="technologies.id", ondelete="CASCADE", index=True)
    carrier_id: int = Field(foreign_key="carriers.id", ondelete="CASCADE", index=True)
    role: str = Field(max_length=10)  # "in" | "out" | "export"
    position: int = Field(default=0)


class TechParameter(ParameterValueFields, table=True):
    __tablename__ = "tech_parameters"
    __table_args__ = (
        UniqueConstraint("technology_id", "name", "index_key", "year", name="uq_tech_parameter"),
    )

    id: int | None = Field(default=None, primary_key=True)
    technology_id: int = Field(foreign_key="technologies.id", ondelete="CASCADE", index=True)


class Node(SQLModel, table=True):
    """A technology placed at a location."""

    __tablename__ = "nodes"
    __table_args__ = (UniqueConstraint("location_id", "technology_id", name="uq_node"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="energy_models.id", ondelete="CASCADE", index=True)
    location_id: int = Field(foreign_key="locations.id", ondelete="CASCADE", index=True)
    technology_id: int = Field(foreign_key="technologies.id", ondelete="CASCADE", index=True)


class NodeParameter(ParameterValueFields, table=True):
    __tablename__ = "node_parameters"
    __table_args__ = (
        UniqueConstraint("node_id", "name", "index_key", "year", name="uq_node_parameter"),
    )

    id: int | None = Field(default=None, primary_key=True)
    node_id: int = Field(foreign_key="nodes.id", ondelete="CASCADE", index=True)


class Link(SQLModel, table=True):
    """A transmission technology between two locations (one Calliope transmission tech)."""

    __tablename__ = "links"
    __table_args__ = (UniqueConstraint("model_id", "name", name="uq_link_name"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="energy_models.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=200)
    technology_id: int = Field(foreign_key="technologies.id", ondelete="CASCADE", index=True)
    from_location_id: int = Field(foreign_key="locations.id", ondelete="CASCADE", index=True)
    to_location_id: int = Field(foreign_key="locations.id", ondelete="CASCADE", index=True)


class LinkParameter(ParameterValueFields, table=True):
    __tablename__ = "link_parameters"
    __table_args__ = (
        UniqueConstraint("link_id", "name", "index_key", "year", name="uq_link_parameter"),
    )

    id: int | None = Field(default=None, primary_key=True)
    link_id: int = Field(foreign_key="links.id", ondelete="CASCADE", index=True)


class Scenario(SQLModel, table=True):
    """What to run: which nodes and links are on, settings, and extra overrides.

    `settings` holds typed values keyed by Calliope config paths
    (e.g. {"config.build.ensure_feasibility": true}); `overrides` holds a Calliope
    override dict (as in a model's `overrides:` section) applied on top.
    """

    __tablename__ = "scenarios"
    __table_args__ = (UniqueConstraint("model_id", "name", name="uq_scenario_name"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="energy_models.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=200)
    description: str = text_field()
    settings: dict = json_field(dict)
    overrides: dict = json_field(dict)
    # Names of the Calliope overrides this scenario was imported from, in order.
    source_overrides: list = json_field(list)
    created_at: datetime = created_at_field()


class ScenarioNode(SQLModel, table=True):
    __tablename__ = "scenario_nodes"
    __table_args__ = (UniqueConstraint("scenario_id", "node_id", name="uq_scenario_node"),)

    id: int | None = Field(default=None, primary_key=True)
    scenario_id: int = Field(foreign_key="scenarios.id", ondelete="CASCADE", index=True)
    node_id: int = Field(foreign_key="nodes.id", ondelete="CASCADE", index=True)
    active: bool = Field(default=True)


class ScenarioLink(SQLModel, table=True):
    __tablename__ = "scenario_links"
    __table_args__ = (UniqueConstraint("scenario_id", "link_id", name="uq_scenario_link"),)

    id: int | None = Field(default=None, primary_key=True)
    scenario_id: int = Field(foreign_key="scenarios.id", ondelete="CASCADE", index=True)
    link_id: int = Field(foreign_key="links.id", ondelete="CASCADE", index=True)
    active: bool = Field(default=True)




class ScenarioConstraint(SQLModel, table=True):
    """A group constraint of a scenario: one template of services/group_constraints.py with the
    planner's choices (`params`, typed by the template), compiled into custom math on export."""

    __tablename__ = "scenario_constraints"
    __table_args__ = (UniqueConstraint("scenario_id", "name", name="uq_scenario_constraint_name"),)

    id: int | None = Field(default=None, primary_key=True)
    scenario_id: int = Field(foreign_key="scenarios.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=120)
    template: str = Field(max_length=60)
    params: dict = json_field(dict)
    created_at: datetime = created_at_field()
