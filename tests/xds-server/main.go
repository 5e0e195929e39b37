// xds-server serves rate limit configurations (ratelimit.config.ratelimit.v3.RateLimitConfig) over
// Envoy's aggregated discovery service, state of the world, with go-control-plane's own server and
// snapshot cache: the xDS server Envoy Gateway runs for envoyproxy/ratelimit
// (CONFIG_TYPE=GRPC_XDS_SOTW), here for the tests. It serves node -node the configurations in the
// file -configs (a JSON array of RateLimitConfig, protojson), read again every 100 ms: each
// change is a new snapshot version ("1", "2", ...). It prints "serving version N" for each, and
// "acked version N" when the client acknowledges one.
//
//	xds-server -port 18000 -node default -configs configs.json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/envoyproxy/go-control-plane/pkg/server/v3"
	rlsconf "github.com/envoyproxy/go-control-plane/ratelimit/config/ratelimit/v3"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
)

func main() {
	port := flag.Int("port", 18000, "loopback port to serve on")
	node := flag.String("node", "default", "the node id whose snapshot is served")
	file := flag.String("configs", "", "JSON array of RateLimitConfig, re-read every 100 ms")
	flag.Parse()

	ctx := context.Background()
	snapshots := cache.NewSnapshotCache(false, cache.IDHash{}, nil)
	callbacks := server.CallbackFuncs{
		StreamRequestFunc: func(_ int64, r *discovery.DiscoveryRequest) error {
			if r.ResponseNonce != "" && r.ErrorDetail == nil {
				fmt.Printf("acked version %s\n", r.VersionInfo)
			} else if r.ErrorDetail != nil {
				fmt.Printf("nacked: %s\n", r.ErrorDetail.Message)
			}
			return nil
		},
	}
	xds := server.NewServer(ctx, snapshots, callbacks)
	grpcServer := grpc.NewServer()
	discovery.RegisterAggregatedDiscoveryServiceServer(grpcServer, xds)
	listener, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(*port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "xds-server:", err)
		os.Exit(2)
	}
	go func() {
		last, version := "", 0
		for ; ; time.Sleep(100 * time.Millisecond) {
			text, err := os.ReadFile(*file)
			if err != nil || string(text) == last {
				continue
			}
			var raw []json.RawMessage
			if err := json.Unmarshal(text, &raw); err != nil {
				fmt.Fprintln(os.Stderr, "xds-server: configs:", err)
				continue
			}
			configs := make([]types.Resource, 0, len(raw))
			for _, r := range raw {
				config := &rlsconf.RateLimitConfig{}
				if err := protojson.Unmarshal(r, config); err != nil {
					fmt.Fprintln(os.Stderr, "xds-server: a config:", err)
					continue
				}
				configs = append(configs, config)
			}
			version++
			snapshot, err := cache.NewSnapshot(strconv.Itoa(version),
				map[resource.Type][]types.Resource{resource.RateLimitConfigType: configs})
			if err == nil {
				err = snapshots.SetSnapshot(ctx, *node, snapshot)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "xds-server: snapshot:", err)
				continue
			}
			last = string(text)
			fmt.Printf("serving version %d\n", version)
		}
	}()
	fmt.Printf("listening on 127.0.0.1:%d\n", *port)
	if err := grpcServer.Serve(listener); err != nil {
		fmt.Fprintln(os.Stderr, "xds-server:", err)
		os.Exit(2)
	}
}
