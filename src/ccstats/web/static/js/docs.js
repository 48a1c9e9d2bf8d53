// The API docs page: Swagger UI (vendored) over this server's OpenAPI schema.
// A file of its own, not an inline script: the page's Content-Security-Policy allows no inline code.
window.addEventListener("DOMContentLoaded", () => {
  window.SwaggerUIBundle({
    url: "openapi.json", // relative: the page may be served under a root path
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null, // never send the schema to an online validator
  });
});
