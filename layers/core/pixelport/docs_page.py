"""GET /v1/docs: Swagger UI over the API's own OpenAPI document.

A small HTML page that loads swagger-ui-dist, pinned to one version, from a public CDN: the bundle is
about 1.5 MB, too large to vendor into git or the Lambda layer for a reference page, and the API itself
never depends on it (only the reader's browser does). The CDN is trusted with nothing: each file carries
its Subresource Integrity hash, so the browser runs only the exact bytes of the pinned release, and the
answer's Content-Security-Policy lets scripts and styles come only from that release's folder and the
page's one inline script (by its hash). Stdlib only: the API function never imports Pillow.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from html import escape

SWAGGER_UI_VERSION = "5.17.14"
SWAGGER_UI_CDN = f"https://cdn.jsdelivr.net/npm/swagger-ui-dist@{SWAGGER_UI_VERSION}"
# SHA-384 of the pinned files as npm publishes them (jsDelivr serves /npm/ files unchanged). After
# changing the version, recompute both from the npm tarball (the CDN need not be reachable):
#   npm pack swagger-ui-dist@<version> && tar xzf swagger-ui-dist-<version>.tgz
#   for f in swagger-ui.css swagger-ui-bundle.js; do
#     echo "$f sha384-$(openssl dgst -sha384 -binary package/$f | openssl base64 -A)"; done
SWAGGER_UI_CSS_INTEGRITY = "sha384-wxLW6kwyHktdDGr6Pv1zgm/VGJh99lfUbzSn6HNHBENZlCN7W602k9VkGdxuFvPn"
SWAGGER_UI_BUNDLE_INTEGRITY = "sha384-wmyclcVGX/WhUkdkATwhaK1X1JtiNrr2EoYJ+diV3vj4v6OC5yCeSu+yW13SYJep"

SCRIPT = """
window.ui = SwaggerUIBundle({{
  url: {document_js},
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
}});
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pixelport API reference</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{cdn}/swagger-ui.css" integrity="{css_integrity}" crossorigin="anonymous">
</head>
<body>
<div id="swagger-ui"><noscript>This page shows <a href="{document}">the OpenAPI document</a>
with Swagger UI, which needs JavaScript.</noscript></div>
<script src="{cdn}/swagger-ui-bundle.js" integrity="{bundle_integrity}" crossorigin="anonymous"></script>
<script>{script}</script>
</body>
</html>
"""


@dataclass(frozen=True)
class DocsPage:
    html: str
    content_security_policy: str


def docs_page(document_url: str) -> DocsPage:
    """The page for the document at `document_url` (a path on this API, e.g. "/prod/v1/openapi.json")."""
    quoted = '"' + document_url.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\u003c") + '"'
    script = SCRIPT.format(document_js=quoted)
    html = PAGE.format(
        cdn=SWAGGER_UI_CDN,
        css_integrity=SWAGGER_UI_CSS_INTEGRITY,
        bundle_integrity=SWAGGER_UI_BUNDLE_INTEGRITY,
        document=escape(document_url),
        script=script,
    )
    return DocsPage(html, content_security_policy(script))


def content_security_policy(inline_script: str) -> str:
    """Scripts and styles from the pinned release's folder only, plus the page's inline script; the
    document and "Try it out" calls to this API ('self'); Swagger UI's icons are data: URLs."""
    digest = base64.b64encode(hashlib.sha256(inline_script.encode("utf-8")).digest()).decode("ascii")
    release = f"{SWAGGER_UI_CDN}/"
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {release} 'sha256-{digest}'",
            f"style-src {release}",
            "img-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
