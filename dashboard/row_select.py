"""A click on a ranked table's row → the commune it names, in the browser.

The ranked tables (the commander's key communes, the planner's priority list) are made
anew with every filter change, and Dash fires a callback whose ``ALL`` input gains new
rows: answered by the server, that was a round trip in most filter changes for an answer
that is nearly always "nothing clicked" (issue 18). The rule stays the server's: a row
clicked (any row of the table with a click) selects its commune code, as text; new rows
with no click select nothing.
"""

from __future__ import annotations

__all__ = ["ROW_SELECT_JS", "register_row_select"]

#: ``(n_clicks of every row) → the clicked row's code``, or no update.
ROW_SELECT_JS = """function (clicks) {
    const none = window.dash_clientside.no_update;
    const trigger = window.dash_clientside.callback_context.triggered_id;
    if (!trigger || typeof trigger !== "object" || trigger.type !== __ROW__) { return none; }
    if (!(Array.isArray(clicks) ? clicks : []).some(function (n) { return n; })) { return none; }
    return String(trigger.code);
}"""


def register_row_select(app, row_type: str, selected_id: str) -> None:
    """A clientside callback: a click on a row ``{"type": row_type, "code": …}`` writes its
    code to the ``dcc.Store`` ``selected_id`` (which the page's side panel follows)."""
    import json

    from dash import ALL, Input, Output

    app.clientside_callback(
        ROW_SELECT_JS.replace("__ROW__", json.dumps(row_type)),
        Output(selected_id, "data", allow_duplicate=True),
        Input({"type": row_type, "code": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
