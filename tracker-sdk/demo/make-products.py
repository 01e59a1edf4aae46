# Generates site/products.json (the demo catalog).
# Run: python3 tracker-sdk/demo/make-products.py && npx prettier --write tracker-sdk/demo/site/products.json
import json, os
C = {
 'humidifiers': ('hum', 'Humidifiers', [
   ('Mistral Cool Mist Humidifier 4L', 49.99, 'Ultrasonic cool mist humidifier with a 4 litre tank, whisper-quiet night mode and auto shut-off.', ['humidifier', 'cool mist', 'ultrasonic']),
   ('Aerwell Warm Mist Humidifier', 69.00, 'Warm mist humidifier that boils water for germ-free vapour; ideal for winter colds.', ['humidifier', 'warm mist']),
   ('Nimbus Smart Humidifier Wi-Fi', 119.00, 'App-controlled humidifier with a built-in hygrometer that holds your target humidity all night.', ['humidifier', 'smart', 'wifi']),
   ('Petite Desk Humidifier USB', 19.90, 'Pocket-size USB humidifier for the desk or bedside table, runs 8 hours on one fill.', ['humidifier', 'mini', 'usb']),
   ('Evapora Evaporative Humidifier 6L', 89.00, 'Evaporative wick humidifier: no white dust, self-regulating output for large rooms.', ['humidifier', 'evaporative']),
   ('Bambino Nursery Humidifier', 59.00, 'Quiet cool mist humidifier for the nursery with a soft night light and filter-free design.', ['humidifier', 'baby', 'nursery']),
 ]),
 'air-purifiers': ('pur', 'Air purifiers', [
   ('ClearBreeze HEPA Air Purifier 300', 149.00, 'True HEPA H13 filter captures 99.97% of pollen, dust and pet dander in rooms up to 30 m2.', ['air purifier', 'hepa', 'allergy']),
   ('PureNest Compact Purifier', 79.00, 'Compact purifier with activated carbon pre-filter for bedrooms and home offices.', ['air purifier', 'carbon']),
   ('Vortair Pro Smart Purifier', 299.00, 'Laser particle sensor, auto mode and app with live PM2.5 readings for open-plan living rooms.', ['air purifier', 'smart', 'pm2.5']),
   ('ClearBreeze Replacement HEPA Filter', 34.90, 'Genuine replacement filter for the ClearBreeze 300, lasts 6 to 8 months.', ['filter', 'hepa', 'air purifier']),
 ]),
 'fans': ('fan', 'Fans', [
   ('Zephyr Tower Fan 42"', 59.99, 'Oscillating tower fan with 3 speeds, sleep timer and remote control.', ['fan', 'tower fan']),
   ('Breezy Desk Fan 6"', 24.50, 'Quiet USB desk fan with a tilting head and two speeds.', ['fan', 'desk fan', 'usb']),
   ('Cyclone Pedestal Fan', 44.00, 'Height-adjustable pedestal fan with wide oscillation for living rooms.', ['fan', 'pedestal']),
   ('Aria Bladeless Fan & Heater', 249.00, 'Bladeless fan that also heats in winter, with air multiplier technology.', ['fan', 'bladeless', 'heater']),
 ]),
 'heaters': ('hea', 'Heaters', [
   ('Ember Oil-Filled Radiator 2000W', 89.00, 'Silent oil-filled radiator with 7 fins, thermostat and frost protection.', ['heater', 'radiator']),
   ('Glow Ceramic Space Heater', 39.90, 'Fast ceramic heater with tip-over switch and overheat protection.', ['heater', 'ceramic', 'space heater']),
   ('Hearth Infrared Panel Heater', 159.00, 'Wall-mounted infrared panel heater that warms people, not air.', ['heater', 'infrared']),
   ('Toasty Heated Throw Blanket', 54.00, 'Electric heated throw with 6 heat settings and auto-off after 3 hours.', ['heated blanket', 'throw']),
 ]),
 'coffee': ('cof', 'Coffee', [
   ('Barista Duo Espresso Machine', 329.00, 'Dual boiler espresso machine with PID temperature control and steam wand.', ['espresso', 'coffee machine']),
   ('Pourfect Gooseneck Kettle', 64.00, 'Variable temperature gooseneck kettle for pour-over coffee and tea.', ['kettle', 'pour over']),
   ('Grindr Burr Coffee Grinder', 99.00, 'Conical burr grinder with 40 grind settings from espresso to cold brew.', ['grinder', 'coffee']),
   ('Colombia Huila Whole Beans 1kg', 27.50, 'Single-origin medium roast with notes of caramel, red apple and cocoa.', ['coffee beans', 'whole bean']),
 ]),
 'kitchen': ('kit', 'Kitchen', [
   ('Crispa Air Fryer 5.5L', 89.99, 'Digital air fryer with 8 presets, shake reminder and dishwasher-safe basket.', ['air fryer']),
   ('Velocity High-Speed Blender', 119.00, '1400W blender with a tamper for smoothies, nut butters and soups.', ['blender']),
   ('SlowPot Multicooker 6L', 99.00, 'Pressure cooker, slow cooker, rice cooker and yogurt maker in one pot.', ['multicooker', 'pressure cooker']),
   ('Chef Knife Damascus 20cm', 74.00, 'Hand-forged Damascus steel chef knife with a pakkawood handle.', ['knife']),
 ]),
 'vacuums': ('vac', 'Vacuums', [
   ('Roamer Robot Vacuum S7', 279.00, 'Lidar-mapping robot vacuum with no-go zones and self-charging.', ['robot vacuum', 'vacuum']),
   ('Featherlite Cordless Stick Vacuum', 199.00, 'Cordless stick vacuum, 45 minutes runtime, converts to a handheld.', ['stick vacuum', 'cordless', 'vacuum']),
   ('PetPro Handheld Vacuum', 69.00, 'Handheld vacuum with a motorised pet hair tool for sofas and car seats.', ['handheld vacuum', 'pet']),
   ('Roamer Replacement Brush Kit', 24.90, 'Side brushes, main brush and filters for the Roamer S7.', ['vacuum', 'spare parts']),
 ]),
 'bedding': ('bed', 'Bedding', [
   ('Cloudrest Memory Foam Pillow', 49.00, 'Contoured memory foam pillow with a cooling bamboo cover.', ['pillow', 'memory foam']),
   ('Linen Duvet Cover Set Double', 129.00, 'Stonewashed French linen duvet cover with two pillowcases.', ['duvet cover', 'linen']),
   ('All-Season Duvet 10.5 Tog', 79.00, 'Hypoallergenic microfibre duvet for year-round comfort.', ['duvet']),
   ('Weighted Blanket 7kg', 99.00, 'Glass-bead weighted blanket for calmer, deeper sleep.', ['weighted blanket', 'blanket']),
 ]),
 'lighting': ('lig', 'Lighting', [
   ('Lumen Smart Bulb E27 (4-pack)', 44.00, 'Dimmable colour smart bulbs that work with voice assistants.', ['smart bulb', 'light']),
   ('Halo Arc Floor Lamp', 139.00, 'Arched floor lamp with a marble base and dimmable LED.', ['floor lamp', 'lamp']),
   ('Sunrise Wake-Up Light', 89.00, 'Simulated sunrise alarm clock with 20 brightness levels and radio.', ['wake up light', 'alarm']),
   ('Nook LED Desk Lamp', 39.00, 'Flicker-free desk lamp with USB-C charging port and five colour temperatures.', ['desk lamp', 'lamp']),
 ]),
 'audio': ('aud', 'Audio', [
   ('Pulse Noise-Cancelling Headphones', 229.00, 'Over-ear wireless headphones with adaptive noise cancelling and 30 h battery.', ['headphones', 'noise cancelling']),
   ('Pebble Bluetooth Speaker', 59.00, 'Waterproof portable speaker with 12 h playtime.', ['speaker', 'bluetooth']),
   ('Aura Soundbar 2.1', 199.00, 'Soundbar with wireless subwoofer and dialogue enhancement.', ['soundbar', 'tv audio']),
   ('Buds Air True Wireless Earbuds', 79.00, 'Compact earbuds with wireless charging case and transparency mode.', ['earbuds', 'wireless']),
 ]),
}
out = []
for slug, (prefix, label, items) in C.items():
    for i, (name, price, desc, kw) in enumerate(items, 1):
        out.append({'id': f'p-{prefix}-{i:03d}', 'name': name, 'category': slug, 'category_name': label,
                    'price': price, 'currency': 'EUR', 'description': desc, 'keywords': kw,
                    'rating': round(3.9 + ((i * 7 + len(name)) % 11) / 10, 1), 'in_stock': (i + len(name)) % 9 != 0})
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, 'site', 'products.json'), 'w') as f:
    json.dump({'categories': [{'slug': s, 'name': v[1]} for s, v in C.items()], 'products': out}, f, indent=1)
print(len(out), 'products')
