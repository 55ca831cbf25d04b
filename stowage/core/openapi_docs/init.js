// Starts Swagger UI on /api/docs. A file of its own (not an inline script) so the page runs
// under the dashboard's Content-Security-Policy, which allows scripts from 'self' only.
"use strict";
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    domNode: root,
    deepLinking: true,
    // Send the session cookie's CSRF token on "Try it out" mutations, as the dashboard does.
    requestInterceptor: function (req) {
      var match = document.cookie.match(/(?:^|;\s*)stowage_csrf=([^;]+)/);
      if (match && req.method && req.method.toUpperCase() !== "GET") {
        req.headers["X-CSRF-Token"] = decodeURIComponent(match[1]);
      }
      return req;
    }
  });
});
