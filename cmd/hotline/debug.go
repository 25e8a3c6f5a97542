package main

import (
	"net/http"
	"net/http/pprof"
)

// debugMux serves pprof; serve starts it only when HOTLINE_DEBUG_ADDR is set.
func debugMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
