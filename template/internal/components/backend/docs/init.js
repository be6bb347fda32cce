// Starts Swagger UI on the element #swagger-ui, reading the API description
// from its data-spec-url. Kept in a file (not inline) so a strict
// Content-Security-Policy can forbid inline scripts.
window.addEventListener("load", function () {
  var el = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: el.dataset.specUrl,
    domNode: el,
    deepLinking: true,
    // The default validator is an online service; stay offline.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
