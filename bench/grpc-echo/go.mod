module portico.dev/bench/grpc-echo

go 1.24
