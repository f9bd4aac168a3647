"""Views of the cases app, one module per area (desk, workspace, actions, ...). Each module is
imported by its own urls module; nothing is re-exported here so areas stay independent."""
