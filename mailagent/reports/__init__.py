"""Oversight: what the IRO service, senior managers and the child's record need to see.

- `summary`: the daily summary email to the IRO team manager (and optionally each IRO).
- `challenge`: the monthly pack of stage 3 and 4 cases for the challenge meeting.
- `quarterly`: counts, rates and timescales for a quarter, as XLSX, CSV or HTML.
- `export`: one case's complete timeline for the child's file, as HTML, JSON or PDF.

Each builds plain data from the database first (`build_*`, no IO besides reading), then
renders it; `history` reads a case's events into stage visits that all of them share.
No report carries a child's name: children are named by their record number only.
"""
