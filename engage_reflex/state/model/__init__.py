"""States of the model editor: `base.ModelEditorState` holds the model and the user's role once;
each area (overview, locations, carriers, techs, nodes, runs) is a thin substate of it."""
