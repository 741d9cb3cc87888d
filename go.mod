module github.com/gobeam/gobeam

go 1.26

require (
	ergo.services/ergo v1.999.320
	github.com/spf13/pflag v1.1.0
	github.com/stretchr/testify v1.12.1
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect

// The Go module proxy available to this project cannot resolve the vanity host ergo.services.
// github.com/ergo-services/ergo is the same module (its go.mod says "module ergo.services/ergo");
// v1.999.320 is Ergo v3.2.0.
replace ergo.services/ergo => github.com/ergo-services/ergo v1.999.320
