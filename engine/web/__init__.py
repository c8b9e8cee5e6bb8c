"""The phone page (`ampemu run --web`): an aiohttp server on its own thread in the engine process.

`server` (HTTP, token, CSRF), `pedal` (what the page reads and changes, through the control channel),
`bank_edit` (uploads and saving the bank), `tuner` (YIN), `token` (the device's secret), `static/`
(the page). docs/web.md has the API and the security model.
"""
