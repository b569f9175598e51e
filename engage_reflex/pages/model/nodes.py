"""`/models/[model_id]/nodes`: which technologies sit at which locations, and the links.

The grid is a plain HTML table of plain checkboxes (one page of 25 locations), so a model of
200 locations x 30 technologies renders quickly; a placed cell links to the node's own page
(/models/<id>/nodes/<node id>) where its values are changed.
"""

import reflex as rx
from reflex_components_core.el.elements.inline import A as PlainLink

from engage_reflex.components.editor import area_href, editor_page
from engage_reflex.components.feedback import empty_state, error_callout
from engage_reflex.components.layout import loading, section
from engage_reflex.schemas.nodes import GridRow, GridTech, LinkView, TechGroup
from engage_reflex.state.model.links import LinksState
from engage_reflex.state.model.nodes import NodesState

BASE_TECH_LABELS = {"supply": "Supply", "conversion": "Conversion", "storage": "Storage", "demand": "Demand",
                    "transmission": "Transmission"}
BORDER = f"1px solid {rx.color('gray', 5)}"
LOCATION_COLUMN_EM = 12
CELL_EM = 2.6
# A fixed-layout table with fixed column widths: ticking a box re-lays out one cell, not the
# whole table (auto table layout measures every cell of 25 x 30 again on each change).
GRID_CSS = {
    "& table": {"border_collapse": "collapse", "font_size": "13px", "table_layout": "fixed"},
    "& th, & td": {"border": BORDER, "padding": "2px 3px", "text_align": "center", "overflow": "hidden"},
    "& th.loc": {"text_align": "left", "position": "sticky", "left": "0", "background": rx.color("gray", 1),
                 "z_index": "1", "white_space": "nowrap", "text_overflow": "ellipsis", "font_weight": "500"},
    "& th.group": {"white_space": "nowrap", "text_overflow": "ellipsis", "font_size": "12px"},
    "& th.tech": {"vertical_align": "bottom", "height": "9em"},
    "& th.tech span": {"writing_mode": "vertical-rl", "transform": "rotate(180deg)", "white_space": "nowrap",
                       "font_weight": "500"},
    "& td": {"white_space": "nowrap", "height": "22px"},
    "& td input": {"width": "15px", "height": "15px", "margin": "0", "cursor": "pointer",
                   "vertical_align": "middle"},
    "& td a": {"display": "inline-block", "width": "9px", "font_size": "12px", "text_decoration": "none"},
    "& td a[hidden]": {"visibility": "hidden"},  # keeps its place: the cell does not change width
}


def labelled(label: str, control: rx.Component, html_for: str) -> rx.Component:
    return rx.vstack(rx.el.label(rx.text(label, size="2", weight="medium", as_="span"), html_for=html_for),
                     control, spacing="1")


def id_select(choices, value, on_change, id: str, label: str, placeholder: str) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(id=id, placeholder=placeholder, min_width="12em", custom_attrs={"aria-label": label}),
        rx.select.content(rx.foreach(choices, lambda c: rx.select.item(c.label, value=c.id.to_string()))),
        value=value, on_change=on_change, size="2",
    )


# ------------------------------------------------------------------ the grid


def group_header(group: TechGroup) -> rx.Component:
    label = rx.match(group.base_tech, *BASE_TECH_LABELS.items(), group.base_tech)
    return rx.el.th(label, col_span=group.count, scope="colgroup", class_name="group", title=label)


def tech_header(tech: GridTech) -> rx.Component:
    return rx.el.th(rx.el.span(tech.label), scope="col", class_name="tech",
                    title=tech.name + " · placed at " + tech.node_count.to_string())


def cell(row: GridRow, node_id, index, techs, can_edit, nodes_href) -> rx.Component:
    label = techs[index].label + " at " + row.location_name
    placed = node_id != 0
    return rx.el.td(
        rx.el.input(type="checkbox", checked=placed, disabled=~can_edit, custom_attrs={"aria-label": label},
                    on_change=lambda _value: NodesState.toggle(row.location_id, techs[index].id, node_id)),
        # A plain link (not a router link), hidden rather than conditional: hundreds of cells
        # stay cheap to render and a tick changes one attribute.
        PlainLink.create("›", href=nodes_href + node_id.to_string(), hidden=~placed,
                         custom_attrs={"aria-label": "Values of " + label}),
    )


def grid_row(row: GridRow, techs, can_edit, nodes_href) -> rx.Component:
    return rx.el.tr(
        rx.el.th(
            rx.hstack(
                rx.text(row.location_name, as_="span"),
                rx.cond(can_edit,
                        rx.el.button("Place all", on_click=NodesState.place_row(row.location_id),
                                     custom_attrs={"aria-label": "Place all technologies at " + row.location_name},
                                     class_name="row-action", font_size="11px", color=rx.color("accent", 11),
                                     cursor="pointer", background="none", border="none", padding="0")),
                justify="between", spacing="3", align="center",
            ),
            scope="row", class_name="loc", title=row.location_name,
        ),
        rx.foreach(row.node_ids, lambda node_id, i: cell(row, node_id, i, techs, can_edit, nodes_href)),
    )


@rx.memo
def grid_table(rows: rx.Var[list[GridRow]], techs: rx.Var[list[GridTech]], groups: rx.Var[list[TechGroup]],
               can_edit: rx.Var[bool], nodes_href: rx.Var[str]) -> rx.Component:
    """The grid as its own memoised component: it renders again only when its rows or columns change."""
    width = f"calc({LOCATION_COLUMN_EM}em + " + (techs.length() * CELL_EM).to_string() + "em)"
    return rx.el.table(
        rx.el.colgroup(rx.el.col(style={"width": f"{LOCATION_COLUMN_EM}em"}),
                       rx.foreach(techs, lambda _tech: rx.el.col(style={"width": f"{CELL_EM}em"}))),
        rx.el.caption("Technologies (columns) placed at locations (rows)",
                      style={"position": "absolute", "width": "1px", "height": "1px", "overflow": "hidden",
                             "clip": "rect(0 0 0 0)"}),
        rx.el.thead(
            rx.el.tr(rx.el.th(""), rx.foreach(groups, group_header)),
            rx.el.tr(rx.el.th("Location", scope="col", class_name="loc"), rx.foreach(techs, tech_header)),
        ),
        rx.el.tbody(rx.foreach(rows, lambda row: grid_row(row, techs, can_edit, nodes_href))),
        id="placement-grid", style={"width": width},
    )


def placement_table() -> rx.Component:
    return rx.box(
        grid_table(rows=NodesState.rows, techs=NodesState.techs, groups=NodesState.groups,
                   can_edit=NodesState.can_edit, nodes_href=area_href("/nodes/")),
        overflow_x="auto", max_width="100%", style=GRID_CSS,
    )


def filters() -> rx.Component:
    return rx.hstack(
        labelled("Filter locations", rx.input(value=NodesState.location_filter, debounce_timeout=300,
                                              on_change=NodesState.set_location_filter, id="filter-locations",
                                              placeholder="Part of a name", size="2"), "filter-locations"),
        labelled("Filter technologies", rx.input(value=NodesState.tech_filter, debounce_timeout=300,
                                                 on_change=NodesState.set_tech_filter, id="filter-techs",
                                                 placeholder="Name or base tech", size="2"), "filter-techs"),
        spacing="4", wrap="wrap", align="end",
    )


def column_actions() -> rx.Component:
    return rx.cond(
        NodesState.can_edit & (NodesState.techs.length() > 0),
        rx.hstack(
            labelled("Whole column", id_select(NodesState.techs, NodesState.column_tech, NodesState.set_column_tech,
                                               "column-tech", "Whole column", "Technology"), "column-tech"),
            rx.button(rx.icon("copy-plus", size=15), "Place at " + NodesState.where_label,
                      on_click=NodesState.place_column, variant="soft", size="2", loading=NodesState.busy),
            rx.button(rx.icon("trash-2", size=15), "Remove from " + NodesState.where_label,
                      on_click=NodesState.ask_remove_column, variant="soft", color_scheme="red", size="2"),
            spacing="3", wrap="wrap", align="end",
        ),
    )


def pager() -> rx.Component:
    return rx.hstack(
        rx.text(NodesState.page_label, size="2", color=rx.color("gray", 11), id="grid-page"),
        rx.spacer(),
        rx.button("Previous", on_click=NodesState.previous_page, disabled=NodesState.offset == 0,
                  variant="soft", size="1"),
        rx.button("Next", on_click=NodesState.next_page, disabled=~NodesState.has_next, variant="soft", size="1"),
        width="100%", align="center",
    )


def confirm_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(NodesState.confirm_title),
            rx.alert_dialog.description(NodesState.confirm_text),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray",
                                                 on_click=NodesState.cancel_confirm)),
                rx.alert_dialog.action(rx.button("Remove", color_scheme="red", on_click=NodesState.confirm)),
                spacing="3", justify="end", margin_top="1em",
            ),
        ),
        open=NodesState.confirm_open,
    )


def grid_section() -> rx.Component:
    summary = rx.text(NodesState.total_nodes, " nodes: ", NodesState.total_techs, " technologies at ",
                      NodesState.total_locations, " locations. ",
                      rx.cond(NodesState.can_edit, "Tick a box to place a technology at a location; ",
                              "A tick shows a technology placed at a location; "),
                      "› opens that node's own values.", size="2", color=rx.color("gray", 11))
    body = rx.cond(
        NodesState.total_locations == 0,
        empty_state("map-pin", "No locations yet", "Add locations first, then place technologies at them.",
                    rx.link("Go to Locations", href=area_href("/locations"))),
        rx.cond(
            NodesState.total_techs == 0,
            empty_state("cpu", "No technologies to place yet",
                        "Add supply, demand, storage or conversion technologies, then place them here.",
                        rx.link("Go to Technologies", href=area_href("/techs"))),
            rx.vstack(summary, filters(), column_actions(),
                      rx.cond(NodesState.rows.length() > 0, rx.vstack(placement_table(), pager(), width="100%"),
                              rx.text("No locations or technologies match the filters.", size="2")),
                      spacing="3", width="100%"),
        ),
    )
    return section("Technologies at locations", body, confirm_dialog(), icon="grid-3x3")


# ------------------------------------------------------------------ links


def link_row(link: LinkView) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(link.name),
        rx.table.cell(link.tech_label),
        rx.table.cell(link.from_location),
        rx.table.cell(link.to_location),
        rx.table.cell(link.override_count),
        rx.cond(LinksState.can_edit,
                rx.table.cell(rx.button("Delete", on_click=LinksState.ask_delete(link.id), variant="ghost",
                                        color_scheme="red", size="1",
                                        custom_attrs={"aria-label": "Delete link " + link.name}))),
    )


def add_link_form() -> rx.Component:
    return rx.cond(
        LinksState.link_techs.length() > 0,
        rx.hstack(
            labelled("Transmission technology", id_select(LinksState.link_techs, LinksState.new_tech,
                                                          LinksState.set_new_tech, "link-tech",
                                                          "Transmission technology", "Choose"), "link-tech"),
            labelled("From", id_select(LinksState.link_locations, LinksState.new_from, LinksState.set_new_from,
                                       "link-from", "From", "Location"), "link-from"),
            labelled("To", id_select(LinksState.link_locations, LinksState.new_to, LinksState.set_new_to,
                                     "link-to", "To", "Location"), "link-to"),
            labelled("Name (optional)", rx.input(value=LinksState.new_name, on_change=LinksState.set_new_name,
                                                 id="link-name", placeholder="e.g. Oslo_to_Bergen", size="2"),
                     "link-name"),
            rx.button(rx.icon("plus", size=15), "Add link", on_click=LinksState.add_link,
                      loading=LinksState.adding, size="2"),
            spacing="3", wrap="wrap", align="end",
        ),
        rx.text("To link locations, first add a transmission technology on the Technologies page.", size="2",
                color=rx.color("gray", 11)),
    )


def delete_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete this link?"),
            rx.alert_dialog.description(LinksState.delete_text),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray",
                                                 on_click=LinksState.cancel_delete)),
                rx.alert_dialog.action(rx.button("Delete link", color_scheme="red", on_click=LinksState.delete_link)),
                spacing="3", justify="end", margin_top="1em",
            ),
        ),
        open=LinksState.delete_open,
    )


def links_section() -> rx.Component:
    table = rx.table.root(
        rx.table.header(rx.table.row(
            rx.table.column_header_cell("Name"), rx.table.column_header_cell("Technology"),
            rx.table.column_header_cell("From"), rx.table.column_header_cell("To"),
            rx.table.column_header_cell("Own values"),
            rx.cond(LinksState.can_edit, rx.table.column_header_cell(rx.text("Actions", class_name="rt-sr-only"))),
        )),
        rx.table.body(rx.foreach(LinksState.links, link_row)),
        size="1", width="100%", id="links-table",
    )
    return section(
        "Links",
        rx.text("A link is a transmission technology between two locations; each becomes one Calliope "
                "technology with its own name.", size="2", color=rx.color("gray", 11)),
        rx.cond(LinksState.links.length() > 0, table,
                empty_state("cable", "No links yet", "Link two locations with a transmission technology.")),
        rx.cond(LinksState.can_edit, add_link_form()),
        delete_dialog(),
        icon="cable",
    )


@editor_page("nodes", "Nodes & links", on_load=[NodesState.load, LinksState.load_links])
def model_nodes_page() -> rx.Component:
    return rx.cond(
        NodesState.grid_loaded,
        rx.cond(NodesState.grid_error != "", error_callout(NodesState.grid_error, id="nodes-error"),
                rx.vstack(grid_section(), links_section(), spacing="4", width="100%")),
        loading("Loading nodes and links…"),
    )
