// Task form: the task type's starter (input text, schema, example, rules). Choosing a type offers its
// starter; it fills empty fields at once, and replaces text a person typed only after a confirm
// dialog. Without JS the "Use the starter" button asks the server, which does the same (it fills
// the empty fields and offers a "Replace with the starter" button for the rest).
(function () {
  "use strict";

  var FIELDS = ["input_data", "schema", "example_output", "rules"];
  var LABELS = {
    input_data: "Input text",
    schema: "JSON Schema",
    example_output: "Example output",
    rules: "Validation rules",
  };

  function starters() {
    var data = document.getElementById("task-starters");
    return data ? JSON.parse(data.textContent) : {};
  }

  function isEmpty(text) {
    var trimmed = text.trim();
    return trimmed === "" || trimmed === "{}" || trimmed === "[]";
  }

  function sameJSON(a, b) {
    try {
      return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
    } catch (error) {
      return a.trim() === b.trim();
    }
  }

  // Fill the form from the starter of its chosen type; true when something was filled.
  function offer(form) {
    var typeField = form.elements.task_type;
    var starter = typeField && starters()[typeField.value];
    if (!starter) {
      return false;
    }
    var summary = document.getElementById("starter-summary");
    if (summary) {
      summary.textContent = starter.summary;
    }
    var typed = FIELDS.filter(function (name) {
      var field = form.elements[name];
      return field && !isEmpty(field.value) && !sameJSON(field.value, starter[name]);
    });
    var replace = false;
    if (typed.length) {
      var names = typed.map(function (name) { return LABELS[name]; }).join(", ");
      replace = window.confirm(
        "Replace what you typed in " + names + " with the starter for " +
          typeField.options[typeField.selectedIndex].text + "?\n\nCancel keeps your text and fills only the empty fields."
      );
    }
    FIELDS.forEach(function (name) {
      var field = form.elements[name];
      if (field && (isEmpty(field.value) || replace)) {
        field.value = starter[name];
      }
    });
    return true;
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("#task-form select[name=task_type]")) {
      offer(event.target.form);
    }
  });

  document.addEventListener(
    "click",
    function (event) {
      var button = event.target.closest("#task-form [data-use-starter]");
      if (button && offer(button.form)) {
        event.preventDefault(); // done here: no round trip
        event.stopPropagation();
      }
    },
    true
  );
})();
