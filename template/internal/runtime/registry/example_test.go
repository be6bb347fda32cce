package registry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Database stands in for a connection pool: a component that other services use.
type Database struct {
	users map[int]string
}

func NewDatabase(ctx context.Context) (*Database, error) {
	return &Database{users: map[int]string{1: "Ada", 2: "Grace"}}, nil
}

// Close is called by Container.Stop, after every service that uses the database stopped.
func (db *Database) Close() error {
	fmt.Println("database closed")
	return nil
}

// UserService needs a *Database: the constructor's parameter declares the dependency.
type UserService struct {
	db *Database
}

func NewUserService(ctx context.Context, db *Database) (*UserService, error) {
	return &UserService{db: db}, nil
}

func (s *UserService) Name(id int) (string, error) {
	name, ok := s.db.users[id]
	if !ok {
		return "", fmt.Errorf("user %d not found", id)
	}
	return name, nil
}

// Cache is an interface, so tests can swap the implementation.
type Cache interface {
	Get(key string) (string, bool)
	Set(key, value string)
}

type MemoryCache struct {
	mu sync.Mutex
	m  map[string]string
}

func NewMemoryCache(ctx context.Context) (*MemoryCache, error) {
	return &MemoryCache{m: map[string]string{}}, nil
}

func (c *MemoryCache) Get(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return v, ok
}

func (c *MemoryCache) Set(key, value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = value
}

// AnalyticsService needs a Cache and the UserService.
type AnalyticsService struct {
	cache Cache
	users *UserService
}

func NewAnalyticsService(ctx context.Context, cache Cache, users *UserService) (*AnalyticsService, error) {
	return &AnalyticsService{cache: cache, users: users}, nil
}

func (a *AnalyticsService) Visit(id int) (string, error) {
	key := fmt.Sprint("visitor:", id)
	if name, ok := a.cache.Get(key); ok {
		return name + " (cached)", nil
	}
	name, err := a.users.Name(id)
	if err != nil {
		return "", err
	}
	a.cache.Set(key, name)
	return name, nil
}

// Example registers a small app, starts it, uses a service and stops it. In an app, each
// Provide call sits in an init function of the service's file and registers into
// registry.Default.
func Example() {
	r := registry.New()
	_ = registry.Provide(r, NewDatabase, registry.Kind(registry.KindComponent))
	_ = registry.Provide1(r, NewUserService)
	_ = registry.Provide(r, NewMemoryCache, registry.Kind(registry.KindComponent))
	_ = registry.Bind[Cache, *MemoryCache](r) // AnalyticsService asks for a Cache
	_ = registry.Provide2(r, NewAnalyticsService)

	ctx := context.Background()
	c, err := r.Build() // reports any registration error ignored above
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}

	analytics, err := registry.Get[*AnalyticsService](c)
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 2 {
		fmt.Println(analytics.Visit(1))
	}

	if err := c.Stop(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// Ada <nil>
	// Ada (cached) <nil>
	// database closed
}

// ExampleRegistry_Validate shows what start-up reports when a dependency is missing: the
// service, what it needs, and where it was registered.
func ExampleRegistry_Validate() {
	r := registry.New()
	_ = registry.Provide1(r, NewUserService) // no *Database registered

	err := r.Validate()
	var missing *registry.MissingDependencyError
	if errors.As(err, &missing) {
		fmt.Println(missing.Service, "needs", missing.Dependency)
	}
	// Output:
	// registry_test.UserService needs *registry_test.Database
}

// ExampleContainer_Graph prints the dependency graph, as the services command does.
func ExampleContainer_Graph() {
	r := registry.New()
	_ = registry.Provide(r, NewDatabase, registry.Kind(registry.KindComponent))
	_ = registry.Provide1(r, NewUserService, registry.Describe("reads users"))
	c, err := r.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range c.Graph().Nodes {
		fmt.Println(n.Name, n.Kind, n.Lifetime, n.State, n.Deps)
	}
	fmt.Print(c.Graph().Mermaid())
	// Output:
	// registry_test.Database component singleton registered []
	// registry_test.UserService service singleton registered [registry_test.Database]
	// flowchart LR
	//     n0["registry_test.Database<br/>singleton · registered"]
	//     n1["registry_test.UserService<br/>singleton · registered"]
	//     n1 --> n0
}

// ExampleContainer_CheckHealth reports the health of every singleton.
func ExampleContainer_CheckHealth() {
	r := registry.New()
	_ = registry.Provide(r, NewDatabase, registry.Kind(registry.KindComponent),
		registry.Hooks(registry.Lifecycle[*Database]{
			Health: func(ctx context.Context, db *Database) registry.Health {
				return registry.Health{Status: registry.StatusHealthy, Message: fmt.Sprint(len(db.users), " users")}
			},
		}))
	_ = registry.Provide(r, NewMemoryCache, registry.Optional())
	c, err := r.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer c.Stop(ctx)

	report := c.CheckHealth(ctx, 0)
	fmt.Println(report.Status)
	for _, check := range report.Checks {
		fmt.Println(check.Name, check.Status, check.Message)
	}
	// Output:
	// healthy
	// registry_test.Database healthy 2 users
	// registry_test.MemoryCache healthy started
	// database closed
}
