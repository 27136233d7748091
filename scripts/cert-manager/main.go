// main.go: cert-manager's controller (and its HTTP-01 acmesolver, `cert-manager acmesolver ...`) as
// one local binary, built by build.sh from the github.com/cert-manager/cert-manager module on the Go
// module proxy. Why our own main: cert-manager's cmd/controller and cmd/acmesolver are separate Go
// modules that are never tagged, so the proxy does not serve them; the controllers themselves, the
// issuers and the solver all live in the main module, and this file wires them the way
// cmd/controller/app/controller.go (Apache-2.0, The cert-manager Authors) does, minus the metrics,
// healthz and leader-election servers a test process does not need. The module path sits under
// github.com/cert-manager/cert-manager so Go lets it import the module's internal packages, exactly
// as cert-manager's own controller-binary module does.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/cert-manager/cert-manager/internal/cmd/util"
	"github.com/cert-manager/cert-manager/pkg/controller"
	"github.com/cert-manager/cert-manager/pkg/issuer/acme/http/solver"
	logf "github.com/cert-manager/cert-manager/pkg/logs"

	// Each controller package registers itself with controller.Known() in its init.
	_ "github.com/cert-manager/cert-manager/pkg/controller/acmechallenges"
	_ "github.com/cert-manager/cert-manager/pkg/controller/acmeorders"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/gateways"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/ingresses"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/acme"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/metrics"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/acme"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

// defaultControllers are cert-manager's on-by-default controllers that need no cloud credentials
// (vault and venafi left out), plus the gateway-shim.
const defaultControllers = "issuers,clusterissuers,certificates-metrics,ingress-shim,gateway-shim," +
	"orders,challenges,certificaterequests-issuer-acme,certificaterequests-approver," +
	"certificaterequests-issuer-ca,certificaterequests-issuer-selfsigned,certificates-trigger," +
	"certificates-issuing,certificates-key-manager,certificates-request-manager," +
	"certificates-readiness,certificates-revision-manager"

func main() {
	ctx, exit := util.SetupExitHandler(context.Background(), util.GracefulShutdown)
	defer exit()
	logf.InitLogs()
	defer logf.FlushLogs()
	if len(os.Args) > 1 && os.Args[1] == "acmesolver" {
		util.SetExitCode(acmesolver(ctx, os.Args[2:]))
		return
	}
	if err := run(ctx, os.Args[1:]); err != nil {
		logf.Log.Error(err, "controller failed")
		util.SetExitCode(err)
	}
}

// acmesolver is cmd/acmesolver: serve one HTTP-01 key on a port until stopped.
func acmesolver(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("acmesolver", flag.ExitOnError)
	s := &solver.HTTP01Solver{}
	fs.IntVar(&s.ListenPort, "listen-port", 8089, "port to listen on")
	fs.StringVar(&s.Domain, "domain", "", "the domain name to verify")
	fs.StringVar(&s.Token, "token", "", "the challenge token to verify against")
	fs.StringVar(&s.Key, "key", "", "the challenge key to respond with")
	_ = fs.Parse(args)
	log := logf.Log.WithName("acmesolver")
	go func() {
		<-ctx.Done()
		_ = s.Shutdown(context.Background())
	}()
	return s.Listen(log)
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("controller", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file")
	clusterNs := fs.String("cluster-resource-namespace", "cert-manager", "namespace of ClusterIssuer secrets")
	controllers := fs.String("controllers", defaultControllers, "comma-separated controllers to run")
	gatewayAPI := fs.Bool("enable-gateway-api", true, "run the gateway-shim (needs the Gateway API CRDs)")
	nameservers := fs.String("acme-http01-solver-nameservers", "", "host:port DNS servers for the HTTP-01 self-check")
	solverImage := fs.String("acme-http01-solver-image", "quay.io/jetstack/cert-manager-acmesolver:v1.21.2", "image named in solver pods")
	workers := fs.Int("workers", 5, "workers per controller")
	checkRetry := fs.Duration("dns01-check-retry-period", 2*time.Second, "wait between HTTP-01/DNS-01 self-checks")
	_ = fs.Parse(args)
	ctx = logf.NewContext(ctx, logf.Log, "controller")
	log := logf.FromContext(ctx)
	var ns []string
	if *nameservers != "" {
		ns = strings.Split(*nameservers, ",")
	}
	q := resource.MustParse
	factory, err := controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig:         *kubeconfig,
		KubernetesAPIQPS:   50,
		KubernetesAPIBurst: 100,
		IssuerOptions:      controller.IssuerOptions{ClusterResourceNamespace: *clusterNs},
		ACMEOptions: controller.ACMEOptions{
			HTTP01SolverImage:                 *solverImage,
			HTTP01SolverResourceRequestCPU:    q("10m"),
			HTTP01SolverResourceRequestMemory: q("64Mi"),
			HTTP01SolverResourceLimitsCPU:     q("100m"),
			HTTP01SolverResourceLimitsMemory:  q("64Mi"),
			ACMEHTTP01SolverRunAsNonRoot:      true,
			HTTP01SolverNameservers:           ns,
			DNS01Nameservers:                  ns,
			DNS01CheckRetryPeriod:             *checkRetry,
		},
		SchedulerOptions: controller.SchedulerOptions{MaxConcurrentChallenges: 60},
		IngressShimOptions: controller.IngressShimOptions{
			DefaultAutoCertificateAnnotations: []string{"kubernetes.io/tls-acme"},
			GatewayAPIExtraProtocols:          sets.New[string](),
		},
		CertificateOptions: controller.CertificateOptions{
			CopiedAnnotationPrefixes:                 []string{"*", "-kubectl.kubernetes.io/", "-fluxcd.io/", "-argocd.argoproj.io/"},
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
		},
		ConfigOptions: controller.ConfigOptions{EnableGatewayAPI: *gatewayAPI},
	})
	if err != nil {
		return err
	}
	cmctx, err := factory.Build()
	if err != nil {
		return err
	}
	enabled := sets.New(strings.Split(*controllers, ",")...)
	if !*gatewayAPI {
		enabled.Delete("gateway-shim")
	}
	g, ctx := errgroup.WithContext(ctx)
	known := controller.Known()
	for name := range enabled {
		fn, ok := known[name]
		if !ok {
			return fmt.Errorf("unknown controller %q", name)
		}
		iface, err := fn(factory)
		if err != nil {
			return fmt.Errorf("controller %s: %w", name, err)
		}
		log.Info("starting controller", "controller", name)
		g.Go(func() error { return iface.Run(*workers, ctx) })
	}
	cmctx.SharedInformerFactory.Start(ctx.Done())
	cmctx.KubeSharedInformerFactory.Start(ctx.Done())
	cmctx.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())
	if *gatewayAPI {
		cmctx.GWShared.Start(ctx.Done())
	}
	return g.Wait()
}
