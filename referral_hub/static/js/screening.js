/*
 * Screening forms: show a question only while its FHIR enableWhen holds (any/all; exists, =, !=, >, <, >=, <=).
 * The server evaluates enableWhen again and ignores answers to disabled questions, so this file is a convenience:
 * without JavaScript every question shows. Hidden questions keep what was typed (inputs are disabled, not
 * cleared), so toggling an answer back never loses anything. Same semantics as questionnaires/responses.py:
 * with no answer, every operator except "exists" is false.
 */
(function () {
  "use strict";

  function currentValues(form, name) {
    var values = [];
    var fields = form.querySelectorAll('[name="' + CSS.escape(name) + '"]');
    Array.prototype.forEach.call(fields, function (field) {
      if (field.disabled) { return; }
      if (field.type === "radio" || field.type === "checkbox") {
        if (field.checked) { values.push(field.value); }
      } else if (field.value.trim() !== "") {
        values.push(field.value.trim());
      }
    });
    var other = form.querySelector('[name="' + CSS.escape(name + "-other") + '"]');
    if (other && !other.disabled && other.value.trim() !== "") { values.push(other.value.trim()); }
    return values;
  }

  function typed(raw, condition) {
    if (condition.num) { return Number(raw); }
    if (condition.bool) { return raw === "true"; }
    return raw;
  }

  function test(condition, values) {
    if (condition.op === "exists") { return (values.length > 0) === Boolean(condition.v); }
    return values.some(function (raw) {
      var a = typed(raw, condition);
      var b = condition.v;
      switch (condition.op) {
        case "=": return a === b;
        case "!=": return a !== b;
        case ">": return typeof a === typeof b && a > b;
        case "<": return typeof a === typeof b && a < b;
        case ">=": return typeof a === typeof b && a >= b;
        case "<=": return typeof a === typeof b && a <= b;
        default: return false;
      }
    });
  }

  function refresh(form) {
    var wrappers = form.querySelectorAll("[data-enable-when]");
    // Outer items first (document order), so a hidden group's questions read as unanswered for later tests.
    Array.prototype.forEach.call(wrappers, function (wrapper) {
      var conditions = JSON.parse(wrapper.getAttribute("data-enable-when"));
      var results = conditions.map(function (c) { return test(c, currentValues(form, c.q)); });
      var all = wrapper.getAttribute("data-enable-behavior") !== "any";
      var enabled = all ? results.every(Boolean) : results.some(Boolean);
      wrapper.hidden = !enabled;
      Array.prototype.forEach.call(wrapper.querySelectorAll("input, select, textarea"), function (field) {
        field.disabled = !enabled;
      });
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("form.hub-questionnaire"), function (form) {
      refresh(form);
      form.addEventListener("change", function () { refresh(form); });
      form.addEventListener("input", function () { refresh(form); });
      form.addEventListener("submit", function () {
        // Submit what was typed in hidden questions too? No: disabled fields are not sent, matching the server,
        // which drops answers to disabled questions anyway.
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}());
