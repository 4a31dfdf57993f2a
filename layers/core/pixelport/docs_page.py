"""GET /v1/docs: Swagger UI over the API's own OpenAPI document.

A small HTML page that loads swagger-ui-dist, pinned to one version, from a public CDN: the bundle is
about 1.5 MB, too large to vendor into git or the Lambda layer for a reference page, and the API itself
never depends on it (only the reader's browser does). Stdlib only: the API function never imports Pillow.
"""

from __future__ import annotations

from html import escape

SWAGGER_UI_VERSION = "5.17.14"
SWAGGER_UI_CDN = f"https://cdn.jsdelivr.net/npm/swagger-ui-dist@{SWAGGER_UI_VERSION}"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pixelport API reference</title>
<link rel="stylesheet" href="{cdn}/swagger-ui.css" crossorigin="anonymous">
</head>
<body>
<div id="swagger-ui"><noscript>This page shows <a href="{document}">the OpenAPI document</a>
with Swagger UI, which needs JavaScript.</noscript></div>
<script src="{cdn}/swagger-ui-bundle.js" crossorigin="anonymous"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: {document_js},
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
}});
</script>
</body>
</html>
"""


def docs_page(document_url: str) -> str:
    """The page for the document at `document_url` (a path on this API, e.g. "/prod/v1/openapi.json")."""
    quoted = '"' + document_url.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\u003c") + '"'
    return PAGE.format(cdn=SWAGGER_UI_CDN, document=escape(document_url), document_js=quoted)
