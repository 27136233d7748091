module portico.test/loadgen

go 1.24
