"""Everything a run leaves for its readers, rendered from one judged record (`record.py`):
`summary.md` (summary), JUnit (junit), the Allure extras (allure), and the attachments steps
add while they run (attach). These modules read and write files; they never touch Docker or
HTTP."""
