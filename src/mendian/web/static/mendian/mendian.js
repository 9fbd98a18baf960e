// Mendian page helpers. No inline scripts (CSP): behaviour hangs off data- attributes.
(function () {
  "use strict";

  // Messages fade out by themselves.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".messages .message").forEach(function (el) {
      setTimeout(function () { el.style.transition = "opacity .4s"; el.style.opacity = "0"; }, 2600);
      setTimeout(function () { el.remove(); }, 3100);
    });
  });

  // <a data-geolocate href="/?"> : ask the browser for a position, then go to href with lat/lng
  // (WGS-84 from the browser: the server converts with coord_type=wgs84).
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-geolocate]");
    if (!link) return;
    event.preventDefault();
    if (!navigator.geolocation) { window.location = link.dataset.fallback || link.href; return; }
    link.setAttribute("aria-busy", "true");
    navigator.geolocation.getCurrentPosition(function (pos) {
      var url = new URL(link.href, window.location.origin);
      url.searchParams.set("lat", pos.coords.latitude.toFixed(6));
      url.searchParams.set("lng", pos.coords.longitude.toFixed(6));
      url.searchParams.set("coord_type", "wgs84");
      window.location = url.toString();
    }, function () {
      window.location = link.dataset.fallback || link.href;
    }, { enableHighAccuracy: false, timeout: 8000, maximumAge: 300000 });
  });
})();
