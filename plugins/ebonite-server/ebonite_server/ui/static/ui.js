// Progressive enhancement only: every page works without this file.
// On a task's table, say how many models are ticked for comparison.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("compare-form");
  const help = document.getElementById("compare-help");
  if (!form || !help) return;
  const original = help.textContent;
  const update = () => {
    const count = form.querySelectorAll("input.compare-choice:checked").length;
    help.textContent = count === 0 ? original : `${count} ticked. ${original}`;
  };
  form.addEventListener("change", update);
  update();
});
