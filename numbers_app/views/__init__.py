"""The dashboard face of numbers_app, one module per feature: numbers, activity, trunks,
imports (CSV), twilio; listing holds the paging and filter-sidebar helpers they share."""
