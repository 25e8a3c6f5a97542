// Package charts holds the tests of the Helm charts in this folder: they lint
// and render each chart with Helm's own Go packages, decode every object
// strictly into its Kubernetes type and run `hotline config check` on the
// rendered configuration, so CI checks the chart without a helm binary.
package charts
