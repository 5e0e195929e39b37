// rls-go-client calls a rate limit service through Envoy's own published Go stubs
// (github.com/envoyproxy/go-control-plane): a client this project did not write, so the tests see
// the wire format exactly as Envoy's Go ecosystem does.
//
// It reads one RateLimitRequest a line (protojson) on stdin, calls ShouldRateLimit for each in
// order, and writes one line for each: the RateLimitResponse as protojson, or
// {"grpc_error":{"code":"InvalidArgument","message":"..."}}. Exit status 2 when it cannot run.
//
//	rls-go-client -addr 127.0.0.1:8081 < requests.jsonl > responses.jsonl
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	rls "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "host:port of the gRPC rate limit service")
	timeout := flag.Duration("timeout", 5*time.Second, "deadline of each call")
	flag.Parse()

	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "rls-go-client:", err)
		os.Exit(2)
	}
	defer conn.Close()
	client := rls.NewRateLimitServiceClient(conn)

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 16<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		if len(in.Bytes()) == 0 {
			continue
		}
		request := &rls.RateLimitRequest{}
		if err := protojson.Unmarshal(in.Bytes(), request); err != nil {
			fmt.Fprintln(os.Stderr, "rls-go-client: a request line is no RateLimitRequest:", err)
			os.Exit(2)
		}
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		response, err := client.ShouldRateLimit(ctx, request)
		cancel()
		if err != nil {
			s := status.Convert(err)
			line, _ := json.Marshal(map[string]any{
				"grpc_error": map[string]string{"code": s.Code().String(), "message": s.Message()},
			})
			out.Write(append(line, '\n'))
			continue
		}
		// Proto field names and zero values, so that every field can be compared.
		line, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(response)
		if err != nil {
			fmt.Fprintln(os.Stderr, "rls-go-client:", err)
			os.Exit(2)
		}
		out.Write(append(line, '\n'))
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "rls-go-client:", err)
		os.Exit(2)
	}
}
