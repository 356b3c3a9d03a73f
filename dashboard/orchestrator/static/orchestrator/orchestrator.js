// Slug fields of the orchestrator pages follow their name field as the user types. Without this
// file the server derives a slug left empty, so forms work without JS (dialogs and copy buttons
// are wired by the site-wide static/js/app.js).
(function () {
  "use strict";

  // Same rule as the server's derive_slug: lowercase ASCII words joined by dashes.
  function slugify(text) {
    return text
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 50)
      .replace(/-+$/g, "");
  }

  // A slug input follows its name input until the user edits the slug (or it started filled).
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (input.matches && input.matches("input[data-slug-from]")) {
      input.dataset.slugEdited = "1";
      return;
    }
    document.querySelectorAll("input[data-slug-from]").forEach(function (slug) {
      if (slug.dataset.slugFrom !== input.id) return;
      if (slug.dataset.slugEdited === "1") return;
      if (slug.defaultValue && slug.dataset.slugEdited !== "0") return;
      slug.dataset.slugEdited = "0";
      slug.value = slugify(input.value);
    });
  });
})();
