// web/no_charts.js: served as /dashboard/uPlot.min.js by a build made without uPlot (web/node_modules
// was missing at configure time): the page then shows each series' last value, without charts.
