"""Reports: the statistical tables (.xlsx), the work briefing (工作信息, .docx and an HTML preview) and
the trust check of the briefing's figures. Every figure comes from the indicator catalogue."""
