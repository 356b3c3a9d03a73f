// Credits page enhancement: the dollar price of a custom top-up, as it is typed (1 NC = $0.01).
// Without JS the checkout page shows the price before anything is paid.
//
//   <input data-price-output="output-id">   writes the price into <output id="output-id">
//                                            and shows its closest [data-price-line]
(function () {
  "use strict";

  var dollars = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

  document.addEventListener("input", function (event) {
    var input = event.target.closest("[data-price-output]");
    if (!input) {
      return;
    }
    var output = document.getElementById(input.dataset.priceOutput);
    if (!output) {
      return;
    }
    var credits = Number(input.value);
    var valid = input.value !== "" && Number.isInteger(credits) && credits > 0;
    output.textContent = valid ? dollars.format(credits / 100) : "";
    output.closest("[data-price-line]").hidden = !valid;
  });
})();
