-- The lab's demo reference data: customers, contracts and assets for verification.
-- Idempotent (ON CONFLICT DO NOTHING); production loads its own from the CRM and asset register.
INSERT INTO customers (id, name, time_zone, region) VALUES
    ('CUST-HN-001', 'Ngân hàng Sông Hồng (Hà Nội)', 'Asia/Ho_Chi_Minh', 'north'),
    ('CUST-DN-002', 'Cảng Tiên Sa Logistics (Đà Nẵng)', 'Asia/Ho_Chi_Minh', 'central'),
    ('CUST-SG-003', 'Chuỗi bán lẻ Phương Nam (TP.HCM)', 'Asia/Ho_Chi_Minh', 'south'),
    ('CUST-SG-004', 'Nhà máy Bình Dương Steel', 'Asia/Ho_Chi_Minh', 'south')
ON CONFLICT DO NOTHING;

INSERT INTO contracts (number, customer_id, tier, starts_on, ends_on, calendar) VALUES
    ('HD-2025-0001', 'CUST-HN-001', 'platinum', '2025-01-01', '2030-12-31', '24x7'),
    ('HD-2025-0002', 'CUST-DN-002', 'standard', '2025-01-01', '2030-12-31', 'business_hours'),
    ('HD-2025-0003', 'CUST-SG-003', 'gold', '2025-06-01', '2030-05-31', '24x7'),
    ('HD-2023-0004', 'CUST-SG-004', 'standard', '2023-01-01', '2024-12-31', 'business_hours')
ON CONFLICT DO NOTHING;

INSERT INTO assets (serial, customer_id, contract_number, model, category, warranty_until, location, region) VALUES
    ('SN-FW-HN-0001', 'CUST-HN-001', 'HD-2025-0001', 'FortiGate 200F', 'network', '2029-12-31', 'Hội sở Hà Nội', 'north'),
    ('SN-SRV-HN-0002', 'CUST-HN-001', 'HD-2025-0001', 'Dell PowerEdge R750', 'server', '2024-06-30', 'DC Hà Nội', 'north'),
    ('SN-CAM-DN-0003', 'CUST-DN-002', 'HD-2025-0002', 'Hikvision DS-2CD2143', 'camera', '2028-03-31', 'Kho bãi Đà Nẵng', 'central'),
    ('SN-UPS-SG-0004', 'CUST-SG-003', 'HD-2025-0003', 'APC Smart-UPS SRT 10kVA', 'datacenter', '2027-09-30', 'Phòng máy TP.HCM', 'south'),
    ('SN-ALM-BD-0005', 'CUST-SG-004', 'HD-2023-0004', 'Bosch FPA-5000', 'alarm', NULL, 'Nhà máy Bình Dương', 'south')
ON CONFLICT DO NOTHING;

-- On-site dispatch: field technicians at three offices, travel times between every two places
-- (by road within a city, a flight between cities), and spare parts in two warehouses.
INSERT INTO technicians (id, name, skills, region, base_place, current_place) VALUES
    ('tech.tuan', 'Phạm Minh Tuấn', '{network,server,datacenter,cabling}', 'north', 'Văn phòng Hà Nội', 'Văn phòng Hà Nội'),
    ('tech.ha', 'Đỗ Thu Hà', '{camera,alarm,devices}', 'north', 'Văn phòng Hà Nội', 'Văn phòng Hà Nội'),
    ('tech.bao', 'Trần Quốc Bảo', '{network,camera,alarm,devices,cabling}', 'central', 'Văn phòng Đà Nẵng', 'Văn phòng Đà Nẵng'),
    ('tech.nam', 'Lê Hoàng Nam', '{server,datacenter,network}', 'south', 'Văn phòng TP.HCM', 'Văn phòng TP.HCM'),
    ('tech.mai', 'Nguyễn Thị Mai', '{camera,alarm,devices,cabling}', 'south', 'Văn phòng TP.HCM', 'Văn phòng TP.HCM')
ON CONFLICT DO NOTHING;

WITH place (name, city) AS (VALUES
        ('Văn phòng Hà Nội', 'HN'), ('Hội sở Hà Nội', 'HN'), ('DC Hà Nội', 'HN'),
        ('Văn phòng Đà Nẵng', 'DN'), ('Kho bãi Đà Nẵng', 'DN'),
        ('Văn phòng TP.HCM', 'SG'), ('Phòng máy TP.HCM', 'SG'), ('Nhà máy Bình Dương', 'SG')),
    near (a, b, minutes) AS (VALUES
        ('Văn phòng Hà Nội', 'Hội sở Hà Nội', 25), ('Văn phòng Hà Nội', 'DC Hà Nội', 35), ('Hội sở Hà Nội', 'DC Hà Nội', 30),
        ('Văn phòng Đà Nẵng', 'Kho bãi Đà Nẵng', 20),
        ('Văn phòng TP.HCM', 'Phòng máy TP.HCM', 30), ('Văn phòng TP.HCM', 'Nhà máy Bình Dương', 60),
        ('Phòng máy TP.HCM', 'Nhà máy Bình Dương', 70)),
    far (a, b, minutes) AS (VALUES ('HN', 'DN', 180), ('DN', 'SG', 180), ('HN', 'SG', 240))
INSERT INTO travel_times (from_place, to_place, minutes)
SELECT p.name, q.name,
       CASE WHEN p.name = q.name THEN 0 ELSE COALESCE(n1.minutes, n2.minutes, f1.minutes, f2.minutes) END
  FROM place p CROSS JOIN place q
  LEFT JOIN near n1 ON n1.a = p.name AND n1.b = q.name
  LEFT JOIN near n2 ON n2.a = q.name AND n2.b = p.name
  LEFT JOIN far f1 ON f1.a = p.city AND f1.b = q.city
  LEFT JOIN far f2 ON f2.a = q.city AND f2.b = p.city
ON CONFLICT DO NOTHING;

INSERT INTO warehouses (id, place) VALUES
    ('WH-HN', 'Văn phòng Hà Nội'),
    ('WH-SG', 'Văn phòng TP.HCM')
ON CONFLICT DO NOTHING;

INSERT INTO spare_parts (warehouse_id, part_number, quantity) VALUES
    ('WH-HN', 'DELL-PSU-1400W', 2), ('WH-SG', 'DELL-PSU-1400W', 1),
    ('WH-HN', 'FG-200F-FAN', 1),
    ('WH-SG', 'APC-RBC-SRT10K', 4),
    ('WH-HN', 'POE-INJECTOR-30W', 5), ('WH-SG', 'POE-INJECTOR-30W', 3),
    ('WH-SG', 'BOSCH-FAP-425', 6)
ON CONFLICT DO NOTHING;
